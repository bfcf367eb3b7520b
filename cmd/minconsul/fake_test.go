package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/hashicorp/consul/api"
)

// fakeConsul is just enough of the /v1 API for the CLI's argument handling
// and output formats; the real server is tested end to end by the lead.
type fakeConsul struct {
	mu      sync.Mutex
	kv      map[string]*api.KVPair
	index   uint64
	members []*api.AgentMember
	calls   []string
}

func newFake(t *testing.T) (*fakeConsul, string) {
	f := &fakeConsul{kv: map[string]*api.KVPair{}}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return f, strings.TrimPrefix(srv.URL, "http://")
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Consul-Index", "1")
	json.NewEncoder(w).Encode(v)
}

func (f *fakeConsul) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, r.Method+" "+r.URL.RequestURI())
	q := r.URL.Query()
	switch {
	case strings.HasPrefix(r.URL.Path, "/v1/kv/"):
		f.serveKV(w, r, strings.TrimPrefix(r.URL.Path, "/v1/kv/"), q)
	case r.URL.Path == "/v1/agent/members":
		writeJSON(w, f.members)
	case r.URL.Path == "/v1/agent/leave", r.URL.Path == "/v1/agent/reload":
		w.WriteHeader(200)
	case strings.HasPrefix(r.URL.Path, "/v1/agent/join/"):
		if strings.HasSuffix(r.URL.Path, "/bad") {
			http.Error(w, "join failed", 500)
		}
	case r.URL.Path == "/v1/catalog/services":
		writeJSON(w, map[string][]string{"web": {"v2", "v1"}, "consul": {}, "db": nil})
	case r.URL.Path == "/v1/catalog/nodes":
		writeJSON(w, []*api.Node{
			{ID: "3f2a4b5c-1111-2222-3333-444455556666", Node: "node-one", Address: "10.0.0.1", Datacenter: "dc1",
				TaggedAddresses: map[string]string{"lan": "10.0.0.1", "wan": "10.0.0.1"}, Meta: map[string]string{"consul-network-segment": ""}},
			{ID: "ab-cd", Node: "n2", Address: "10.0.0.22", Datacenter: "dc1"},
		})
	default:
		http.NotFound(w, r)
	}
}

func (f *fakeConsul) serveKV(w http.ResponseWriter, r *http.Request, key string, q map[string][]string) {
	has := func(k string) bool { _, ok := q[k]; return ok }
	get := func(k string) string {
		if v := q[k]; len(v) > 0 {
			return v[0]
		}
		return ""
	}
	switch r.Method {
	case http.MethodGet:
		var keys []string
		for k := range f.kv {
			if (has("recurse") || has("keys")) && strings.HasPrefix(k, key) || k == key {
				keys = append(keys, k)
			}
		}
		sort.Strings(keys)
		if len(keys) == 0 {
			w.Header().Set("X-Consul-Index", "1")
			w.WriteHeader(404)
			return
		}
		if has("keys") {
			writeJSON(w, keys)
			return
		}
		out := make([]*api.KVPair, 0, len(keys))
		for _, k := range keys {
			out = append(out, f.kv[k])
		}
		writeJSON(w, out)
	case http.MethodPut:
		body, _ := io.ReadAll(r.Body)
		old := f.kv[key]
		if has("cas") {
			want, _ := strconv.ParseUint(get("cas"), 10, 64)
			if (old == nil && want != 0) || (old != nil && old.ModifyIndex != want) {
				io.WriteString(w, "false")
				return
			}
		}
		f.index++
		flags, _ := strconv.ParseUint(get("flags"), 10, 64)
		p := &api.KVPair{Key: key, Value: body, Flags: flags, CreateIndex: f.index, ModifyIndex: f.index}
		if old != nil {
			p.CreateIndex = old.CreateIndex
		}
		f.kv[key] = p
		io.WriteString(w, "true")
	case http.MethodDelete:
		if has("cas") {
			want, _ := strconv.ParseUint(get("cas"), 10, 64)
			if old := f.kv[key]; old == nil || old.ModifyIndex != want {
				io.WriteString(w, "false")
				return
			}
		}
		for k := range f.kv {
			if k == key || has("recurse") && strings.HasPrefix(k, key) {
				delete(f.kv, k)
			}
		}
		io.WriteString(w, "true")
	}
}

// runCLI runs one command line in-process.
func runCLI(t *testing.T, stdin string, args ...string) (rc int, stdout, stderr string) {
	t.Helper()
	var o, e bytes.Buffer
	c := newCLI(strings.NewReader(stdin), &o, &e)
	rc = c.run("minconsul", args)
	return rc, o.String(), e.String()
}
