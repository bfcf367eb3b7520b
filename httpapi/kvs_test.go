package httpapi

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"

	"github.com/minconsul/minconsul/structs"
)

func TestKV_Table(t *testing.T) {
	e := newEnv(t)
	big := bytesOf(structs.MaxKVValueSize + 1)
	e.run(t, []httpCase{
		{name: "put", method: "PUT", path: "/v1/kv/foo", body: "bar", status: 200, want: "true", exact: true},
		{name: "put flags", method: "PUT", path: "/v1/kv/flagged?flags=42", body: "v", status: 200, want: "true", exact: true},
		{name: "get raw", method: "GET", path: "/v1/kv/foo?raw", status: 200, want: "bar", exact: true},
		{name: "get json", method: "GET", path: "/v1/kv/foo", status: 200, want: `"Key":"foo","Flags":0,"Value":"YmFy"`},
		{name: "get flags", method: "GET", path: "/v1/kv/flagged", status: 200, want: `"Flags":42`},
		{name: "missing", method: "GET", path: "/v1/kv/nope", status: 404, want: "", exact: true},
		{name: "missing recurse", method: "GET", path: "/v1/kv/nope/?recurse", status: 404, want: "", exact: true},
		{name: "missing keys", method: "GET", path: "/v1/kv/nope/?keys", status: 404, want: "", exact: true},
		{name: "get no key", method: "GET", path: "/v1/kv/", status: 400, want: "Missing key name", exact: true},
		{name: "put no key", method: "PUT", path: "/v1/kv/", body: "x", status: 400, want: "Missing key name", exact: true},
		{name: "delete no key", method: "DELETE", path: "/v1/kv/", status: 400, want: "Missing key name", exact: true},
		{name: "colon is fine (registrator keys)", method: "PUT", path: "/v1/kv/a:b", body: "x", status: 200, want: "true", exact: true},
		{name: "extension is fine", method: "PUT", path: "/v1/kv/app/config.JSON", body: "x", status: 200, want: "true", exact: true},
		{name: "control char", method: "PUT", path: "/v1/kv/a%01b", body: "x", status: 400, want: "invalid character"},
		{name: "traversal", method: "PUT", path: "/v1/kv/a/../b", body: "x", status: 400, want: "traversal"},
		{name: "bad flags", method: "PUT", path: "/v1/kv/x?flags=abc", body: "x", status: 400, want: "invalid syntax"},
		{name: "bad cas", method: "PUT", path: "/v1/kv/x?cas=-1", body: "x", status: 400, want: "invalid syntax"},
		{name: "cas and acquire", method: "PUT", path: "/v1/kv/x?cas=0&acquire=abc", body: "x", status: 400, want: "Conflicting flags: "},
		{name: "delete recurse and cas", method: "DELETE", path: "/v1/kv/x?cas=1&recurse", status: 400, want: "Conflicting flags: "},
		{name: "too large", method: "PUT", path: "/v1/kv/big", body: big, status: 413,
			want: fmt.Sprintf("Request body(%d bytes) too large, max size: %d bytes. See https://developer.hashicorp.com/docs/agent/config/config-files#kv_max_value_size.", len(big), structs.MaxKVValueSize), exact: true},
		{name: "max size ok", method: "PUT", path: "/v1/kv/big", body: bytesOf(structs.MaxKVValueSize), status: 200, want: "true", exact: true},
		{name: "bad index", method: "GET", path: "/v1/kv/foo?index=abc", status: 400, want: "Invalid index", exact: true},
		{name: "bad wait", method: "GET", path: "/v1/kv/foo?index=1&wait=10", status: 400, want: "Invalid wait time", exact: true},
		{name: "stale+consistent", method: "GET", path: "/v1/kv/foo?stale&consistent", status: 400, want: "Cannot specify ?stale with ?consistent, conflicting semantics.", exact: true},
		{name: "stale", method: "GET", path: "/v1/kv/foo?stale", status: 200, want: `"Key":"foo"`},
		{name: "consistent", method: "GET", path: "/v1/kv/foo?consistent", status: 200, want: `"Key":"foo"`},
		{name: "other dc", method: "GET", path: "/v1/kv/foo?dc=dc9", status: 500, want: "No path to datacenter", exact: true},
		{name: "post", method: "POST", path: "/v1/kv/foo", status: 405, want: "method POST not allowed", exact: true},
		{name: "cas create ok", method: "PUT", path: "/v1/kv/casnew?cas=0", body: "1", status: 200, want: "true", exact: true},
		{name: "cas create again fails", method: "PUT", path: "/v1/kv/casnew?cas=0", body: "2", status: 200, want: "false", exact: true},
		{name: "delete cas wrong", method: "DELETE", path: "/v1/kv/casnew?cas=1", status: 200, want: "false", exact: true},
		{name: "delete", method: "DELETE", path: "/v1/kv/flagged", status: 200, want: "true", exact: true},
		{name: "delete missing", method: "DELETE", path: "/v1/kv/flagged", status: 200, want: "true", exact: true},
		{name: "pretty", method: "GET", path: "/v1/kv/foo?pretty", status: 200, want: "[\n    {\n        \"LockIndex\": 0,\n        \"Key\": \"foo\","},
		{name: "keys root", method: "GET", path: "/v1/kv/?keys", status: 200, want: `"foo"`},
		{name: "put empty body", method: "PUT", path: "/v1/kv/dir/", status: 200, want: "true", exact: true},
		{name: "empty value is null", method: "GET", path: "/v1/kv/dir/", status: 200, want: `"Key":"dir/","Flags":0,"Value":null,`},
		{name: "empty value is null in a list", method: "GET", path: "/v1/kv/dir/?recurse", status: 200, want: `"Key":"dir/","Flags":0,"Value":null,`},
		{name: "empty raw", method: "GET", path: "/v1/kv/dir/?raw", status: 200, want: "", exact: true},
	})
}

func TestKV_Headers(t *testing.T) {
	e := newEnv(t)
	status, h, _ := e.do("PUT", "/v1/kv/k", "v")
	if status != 200 || h.Get("X-Consul-Index") == "" {
		t.Fatalf("put: %d %v", status, h)
	}
	status, h, body := e.do("GET", "/v1/kv/k", "")
	if status != 200 {
		t.Fatal(status)
	}
	if h.Get("Content-Type") != "application/json" || h.Get("X-Consul-KnownLeader") != "true" || h.Get("X-Consul-LastContact") != "0" {
		t.Fatalf("headers %v", h)
	}
	if idx, err := strconv.ParseUint(h.Get("X-Consul-Index"), 10, 64); err != nil || idx == 0 {
		t.Fatalf("index %q", h.Get("X-Consul-Index"))
	}
	var ents []map[string]any
	if err := json.Unmarshal([]byte(body), &ents); err != nil || len(ents) != 1 {
		t.Fatalf("body %q: %v", body, err)
	}
	status, h, body = e.do("GET", "/v1/kv/k?raw", "")
	if status != 200 || body != "v" || h.Get("Content-Type") != "text/plain" || h.Get("X-Content-Type-Options") != "nosniff" || h.Get("Content-Security-Policy") != "sandbox" {
		t.Fatalf("raw: %d %q %v", status, body, h)
	}
	status, h, body = e.do("GET", "/v1/kv/missing", "")
	if status != 404 || body != "" || h.Get("X-Consul-Index") == "" {
		t.Fatalf("missing: %d %q %v", status, body, h)
	}
	status, h, _ = e.do("POST", "/v1/kv/k", "")
	if status != 405 || h.Get("Allow") != "OPTIONS,GET,PUT,DELETE" {
		t.Fatalf("405: %d %v", status, h)
	}
	status, h, _ = e.do("OPTIONS", "/v1/kv/k", "")
	if status != 200 || h.Get("Allow") != "OPTIONS,GET,PUT,DELETE" {
		t.Fatalf("OPTIONS: %d %v", status, h)
	}
}

func TestKV_APIClient(t *testing.T) {
	e := newEnv(t)
	kv := e.client.KV()
	if _, err := kv.Put(&api.KVPair{Key: "app/a", Value: []byte("1"), Flags: 7}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := kv.Put(&api.KVPair{Key: "app/b/c", Value: []byte("2")}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := kv.Put(&api.KVPair{Key: "other", Value: []byte{}}, nil); err != nil {
		t.Fatal(err)
	}
	pair, meta, err := kv.Get("app/a", nil)
	if err != nil || pair == nil {
		t.Fatalf("get: %v %v", pair, err)
	}
	if string(pair.Value) != "1" || pair.Flags != 7 || pair.CreateIndex == 0 || pair.ModifyIndex != pair.CreateIndex || meta.LastIndex == 0 || !meta.KnownLeader {
		t.Fatalf("pair %+v meta %+v", pair, meta)
	}
	missing, _, err := kv.Get("nope", nil)
	if err != nil || missing != nil {
		t.Fatalf("missing: %v %v", missing, err)
	}
	empty, _, err := kv.Get("other", nil)
	if err != nil || empty == nil || empty.Value != nil { // nil, as from Consul
		t.Fatalf("empty value: %+v %v", empty, err)
	}

	pairs, _, err := kv.List("app/", nil)
	if err != nil || len(pairs) != 2 || pairs[0].Key != "app/a" || pairs[1].Key != "app/b/c" {
		t.Fatalf("list: %v %v", pairs, err)
	}
	keys, _, err := kv.Keys("app/", "/", nil)
	if err != nil || strings.Join(keys, ",") != "app/a,app/b/" {
		t.Fatalf("keys: %v %v", keys, err)
	}
	keys, _, err = kv.Keys("", "", nil)
	if err != nil || len(keys) != 3 {
		t.Fatalf("all keys: %v %v", keys, err)
	}

	// CAS: stale index fails, current index wins.
	ok, _, err := kv.CAS(&api.KVPair{Key: "app/a", Value: []byte("x"), ModifyIndex: pair.ModifyIndex + 1000}, nil)
	if err != nil || ok {
		t.Fatalf("stale cas: %v %v", ok, err)
	}
	ok, _, err = kv.CAS(&api.KVPair{Key: "app/a", Value: []byte("x"), ModifyIndex: pair.ModifyIndex}, nil)
	if err != nil || !ok {
		t.Fatalf("cas: %v %v", ok, err)
	}
	pair2, _, _ := kv.Get("app/a", nil)
	if string(pair2.Value) != "x" || pair2.ModifyIndex <= pair.ModifyIndex {
		t.Fatalf("after cas %+v", pair2)
	}
	ok, _, err = kv.DeleteCAS(&api.KVPair{Key: "app/a", ModifyIndex: pair.ModifyIndex}, nil)
	if err != nil || ok {
		t.Fatalf("stale delete cas: %v %v", ok, err)
	}
	ok, _, err = kv.DeleteCAS(&api.KVPair{Key: "app/a", ModifyIndex: pair2.ModifyIndex}, nil)
	if err != nil || !ok {
		t.Fatalf("delete cas: %v %v", ok, err)
	}
	if _, err := kv.Delete("other", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := kv.DeleteTree("app/", nil); err != nil {
		t.Fatal(err)
	}
	keys, _, err = kv.Keys("", "", nil)
	if err != nil || len(keys) != 0 || keys == nil {
		t.Fatalf("after deletes: %#v %v", keys, err)
	}
}

func TestKV_BlockingWokenByPut(t *testing.T) {
	e := newEnv(t)
	kv := e.client.KV()
	if _, err := kv.Put(&api.KVPair{Key: "watch", Value: []byte("1")}, nil); err != nil {
		t.Fatal(err)
	}
	_, meta, err := kv.Get("watch", nil)
	if err != nil {
		t.Fatal(err)
	}
	type result struct {
		pair *api.KVPair
		meta *api.QueryMeta
		err  error
	}
	done := make(chan result, 1)
	go func() {
		p, m, err := kv.Get("watch", &api.QueryOptions{WaitIndex: meta.LastIndex, WaitTime: time.Minute})
		done <- result{p, m, err}
	}()
	// The watcher must be parked and still blocked; then a put wakes it.
	e.waitParked(t, 1)
	select {
	case r := <-done:
		t.Fatalf("returned before the put: %+v", r)
	default:
	}
	if _, err := kv.Put(&api.KVPair{Key: "watch", Value: []byte("2")}, nil); err != nil {
		t.Fatal(err)
	}
	select {
	case r := <-done:
		if r.err != nil || string(r.pair.Value) != "2" || r.meta.LastIndex <= meta.LastIndex {
			t.Fatalf("woken with %+v %+v %v", r.pair, r.meta, r.err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("blocking query not woken by put")
	}
}

func TestKV_BlockingTimesOut(t *testing.T) {
	e := newEnv(t)
	kv := e.client.KV()
	if _, err := kv.Put(&api.KVPair{Key: "idle", Value: []byte("1")}, nil); err != nil {
		t.Fatal(err)
	}
	_, meta, err := kv.Get("idle", nil)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	pair, meta2, err := kv.Get("idle", &api.QueryOptions{WaitIndex: meta.LastIndex, WaitTime: 300 * time.Millisecond})
	took := time.Since(start)
	if err != nil || pair == nil || meta2.LastIndex != meta.LastIndex {
		t.Fatalf("timeout answer: %+v %+v %v", pair, meta2, err)
	}
	// Wait plus at most wait/16 jitter, with slack for a slow machine.
	if took < 290*time.Millisecond || took > 5*time.Second {
		t.Fatalf("blocked %v, want about 300ms", took)
	}
}

func TestKV_ClientDisconnectFreesWatch(t *testing.T) {
	e := newEnv(t)
	if _, err := e.client.KV().Put(&api.KVPair{Key: "gone", Value: []byte("1")}, nil); err != nil {
		t.Fatal(err)
	}
	_, meta, err := e.client.KV().Get("gone", nil)
	if err != nil {
		t.Fatal(err)
	}
	// A request whose context ends must return from the handler at once.
	req, _ := http.NewRequest("GET", fmt.Sprintf("%s/v1/kv/gone?index=%d&wait=5m", e.http.URL, meta.LastIndex), nil)
	ctx, cancel := contextWithTimeout(100 * time.Millisecond)
	defer cancel()
	_, err = http.DefaultClient.Do(req.WithContext(ctx))
	if err == nil {
		t.Fatal("expected the client to give up")
	}
	// The server side must notice too: Close waits for in-flight handlers.
	e.http.CloseClientConnections()
	closed := make(chan struct{})
	go func() { e.http.Close(); close(closed) }()
	select {
	case <-closed:
	case <-time.After(10 * time.Second):
		t.Fatal("handler still blocked after the client left")
	}
}
