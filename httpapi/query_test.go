package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/minconsul/minconsul/structs"
)

func TestParseQueryOptions(t *testing.T) {
	cases := []struct {
		raw  string
		want structs.QueryOptions
		err  string
	}{
		{raw: "", want: structs.QueryOptions{}},
		{raw: "index=5", want: structs.QueryOptions{MinIndex: 5}},
		{raw: "index=5&wait=10s", want: structs.QueryOptions{MinIndex: 5, MaxWait: 10 * time.Second}},
		{raw: "wait=5m", want: structs.QueryOptions{MaxWait: 5 * time.Minute}},
		{raw: "wait=-1s", want: structs.QueryOptions{}},
		{raw: "wait=10", err: "Invalid wait time"},
		{raw: "wait=abc", err: "Invalid wait time"},
		{raw: "index=abc", err: "Invalid index"},
		{raw: "index=-1", err: "Invalid index"},
		{raw: "index=18446744073709551616", err: "Invalid index"},
		{raw: "stale", want: structs.QueryOptions{Consistency: structs.ConsistencyStale}},
		{raw: "consistent", want: structs.QueryOptions{Consistency: structs.ConsistencyConsistent}},
		{raw: "stale&consistent", err: "Cannot specify ?stale with ?consistent, conflicting semantics."},
		{raw: "stale&max_stale=zz", err: `Invalid max_stale value "zz"`},
		{raw: "max_stale=5s", want: structs.QueryOptions{Consistency: structs.ConsistencyStale}},
		{raw: "max_stale=0s", want: structs.QueryOptions{}},
		{raw: "max_stale=5s&consistent", err: "Cannot specify ?stale with ?consistent, conflicting semantics."},
		{raw: "wait=bad&index=bad", err: "Invalid wait time"},
	}
	for _, tc := range cases {
		q, _ := url.ParseQuery(tc.raw)
		got, err := parseQueryOptions(q)
		if tc.err != "" {
			code, msg := 0, ""
			if err != nil {
				code, msg = errorStatus(err)
			}
			if code != 400 || msg != tc.err {
				t.Errorf("%q: got %d %q, want 400 %q", tc.raw, code, msg, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%q: got %+v %v, want %+v", tc.raw, got, err, tc.want)
		}
	}
}

func TestParseMetaFilter(t *testing.T) {
	q, _ := url.ParseQuery("node-meta=a:b&node-meta=c:d:e&node-meta=f")
	got := parseMetaFilter(q)
	if len(got) != 3 || got["a"] != "b" || got["c"] != "d:e" || got["f"] != "" {
		t.Fatalf("%v", got)
	}
}

func TestErrorStatus(t *testing.T) {
	cases := []struct {
		err  error
		code int
		msg  string
	}{
		{structs.ErrNoLeader, 500, "No cluster leader"},
		{errors.Join(errors.New("kv put"), structs.ErrNoLeader), 500, "No cluster leader"},
		{structs.ErrNotLeader, 500, "node is not the leader"},
		{structs.BadRequest("bad thing"), 400, "bad thing"},
		{structs.NotFound("no such"), 404, "no such"},
		{structs.ErrTooLarge, 413, "request too large"},
		{errors.New("boom"), 500, "boom"},
		{&methodNotAllowedError{method: "POST", allow: "OPTIONS,GET"}, 405, "method POST not allowed"},
	}
	for _, tc := range cases {
		code, msg := errorStatus(tc.err)
		if code != tc.code || msg != tc.msg {
			t.Errorf("%v: %d %q, want %d %q", tc.err, code, msg, tc.code, tc.msg)
		}
	}
}

func TestAppendDirEntries_MatchesEncodingJSON(t *testing.T) {
	entries := []*structs.DirEntry{
		{Key: "plain", Value: []byte("v"), CreateIndex: 1, ModifyIndex: 2},
		{Key: "nil-value", Flags: 1<<64 - 1, LockIndex: 3},
		{Key: "empty", Value: []byte{}, Session: "sess"},
		{Key: "esc\"\\<>&\n\t\x01\u2028\u2029é\xff", Value: []byte{0, 1, 2, 255}},
	}
	// encoding/json's answer once the empty value is nil, as Consul keeps it.
	asConsul := make([]structs.DirEntry, len(entries))
	for i, e := range entries {
		asConsul[i] = *e
		if len(e.Value) == 0 {
			asConsul[i].Value = nil
		}
	}
	want, _ := json.Marshal(asConsul)
	got := appendDirEntries(nil, entries)
	if !bytes.Equal(got, want) {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
}

func FuzzAppendJSONString(f *testing.F) {
	for _, s := range []string{"", "a", "<>&", "\u2028", "\xff\xfe", "\"\\\n\r\t\b\f", "é日本"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, _ := json.Marshal(s)
		if got := appendJSONString(nil, s); !bytes.Equal(got, want) {
			t.Fatalf("%q: got %s want %s", s, got, want)
		}
	})
}

// FuzzParseQuery feeds arbitrary query strings to every query parser: none
// may panic, and every rejection must be a 400 with a message.
func FuzzParseQuery(f *testing.F) {
	for _, s := range []string{"", "index=1&wait=10s", "index=abc", "wait=10", "stale&consistent",
		"flags=1&cas=0", "flags=-1", "cas=99999999999999999999", "passing=maybe", "node-meta=a:b",
		"%zz", "recurse&cas=1", "separator=/&keys", "replace-existing-checks"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		q, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		check := func(what string, err error) {
			if err == nil {
				return
			}
			code, msg := errorStatus(err)
			if code != http.StatusBadRequest || msg == "" {
				t.Fatalf("%s(%q): %d %q", what, raw, code, msg)
			}
		}
		opts, err := parseQueryOptions(q)
		check("parseQueryOptions", err)
		if err == nil && opts.MaxWait < 0 {
			t.Fatalf("negative wait from %q", raw)
		}
		req := &request{r: &http.Request{Method: "PUT", URL: &url.URL{RawQuery: raw}}, query: q}
		_, _, _, err = parseKVWriteParams(req)
		check("parseKVWriteParams", err)
		check("conflictingFlags", conflictingFlags(req, "cas", "acquire", "release"))
		if _, err := boolParam(q, "passing"); err != nil {
			_ = err // the handler maps this to its own 400
		}
		_ = parseMetaFilter(q)
	})
}

// FuzzKVKey checks that key validation never panics and that accepted keys
// hold no control characters, invalid UTF-8 or traversal segments.
func FuzzKVKey(f *testing.F) {
	for _, s := range []string{"a", "/a", "a/../b", "a.json", "a b", "é", "a.JS", "x/y/", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, key string) {
		err := validateKey(key)
		if err == nil {
			if key == "" || strings.HasPrefix(key, "../") || strings.Contains(key, "/../") || !utf8.ValidString(key) {
				t.Fatalf("accepted %q", key)
			}
			for _, r := range key {
				if r < 0x20 || r == 0x7f {
					t.Fatalf("accepted %q", key)
				}
			}
			return
		}
		if code, msg := errorStatus(err); code != 400 || msg == "" {
			t.Fatalf("%q: %d %q", key, code, msg)
		}
	})
}

// FuzzDecodeRegister feeds arbitrary bodies to the catalog decoders: no
// panic, errors are 400s, and an accepted registration is complete.
func FuzzDecodeRegister(f *testing.F) {
	for _, s := range []string{``, `{}`, `{"Node":"n","Address":"a"}`, `{"Node":"n","Address":"a","Service":{"Service":"s"}}`,
		`{"Node":"n","Address":"a","Check":{"Name":"c"},"Checks":[null,{"CheckID":"x","Status":"bogus"}]}`,
		`{"Node":5}`, `[`, `null`, `{"Node":"n","SkipNodeUpdate":true,"Service":{"ID":"x"}}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		reg, err := decodeRegister(bytes.NewReader(body), "dc1")
		if err != nil {
			if code, msg := errorStatus(err); code != 400 || msg == "" {
				t.Fatalf("%q: %d %q", body, code, msg)
			}
		} else {
			if reg.Node == "" || reg.Datacenter == "" || (reg.Address == "" && !reg.SkipNodeUpdate) || reg.Check != nil {
				t.Fatalf("%q accepted as %+v", body, reg)
			}
			if reg.Service != nil && (reg.Service.ID == "" || reg.Service.Service == "" || reg.Service.Tags == nil) {
				t.Fatalf("%q: service %+v", body, reg.Service)
			}
			for _, c := range reg.Checks {
				if c == nil || c.CheckID == "" || c.Node != reg.Node || c.Status == "" {
					t.Fatalf("%q: check %+v", body, c)
				}
			}
		}
		dreg, err := decodeDeregister(bytes.NewReader(body), "dc1")
		if err != nil {
			if code, _ := errorStatus(err); code != 400 {
				t.Fatalf("deregister %q: %d", body, code)
			}
		} else if dreg.Node == "" {
			t.Fatalf("deregister %q accepted without node", body)
		}
	})
}

// FuzzDecodeAgentBodies covers the agent endpoints' body decoders.
func FuzzDecodeAgentBodies(f *testing.F) {
	for _, s := range []string{``, `{"Status":"passing"}`, `{"Status":1}`, `{"Name":"web","Check":{"TTL":"10s"}}`, `{"Checks":[{}]}`, `"x"`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		mk := func() *request {
			return &request{r: &http.Request{Body: io.NopCloser(bytes.NewReader(body))}}
		}
		if _, err := decodeServiceDefinition(mk()); err != nil {
			if code, _ := errorStatus(err); code != 400 {
				t.Fatal(err)
			}
		}
		upd, err := decodeCheckUpdate(mk())
		if err != nil {
			if code, _ := errorStatus(err); code != 400 {
				t.Fatal(err)
			}
		} else if upd.Status != "passing" && upd.Status != "warning" && upd.Status != "critical" {
			t.Fatalf("accepted status %q", upd.Status)
		}
	})
}
