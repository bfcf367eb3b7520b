package httpapi

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/minconsul/minconsul/backend"
	"github.com/minconsul/minconsul/raftstore"
)

// Txn and session-create bodies never panic the server; refused bodies
// (400, 413) change nothing, and any answer is one Consul gives.
func FuzzTxnAndSessionBodies(f *testing.F) {
	for _, s := range []string{
		`[{"KV":{"Verb":"set","Key":"a","Value":"eA=="}}]`,
		`[{"KV":{"Verb":"cas","Key":"a","Index":3}},{"KV":{"Verb":"get-tree","Key":""}}]`,
		`[{"Node":{"Verb":"set","Node":{"Node":"n","Address":"1.2.3.4"}}},{"Check":{"Verb":"delete","Check":{"Node":"n","CheckID":"c"}}}]`,
		`[{"Service":{"Verb":"cas","Node":"n","Service":{"ID":"s","Service":"s","ModifyIndex":1}}}]`,
		`[{}]`, `[]`, `{}`, `null`, `[{"KV":{"Verb":7}}]`,
		`{"TTL":"10s","LockDelay":"5s","Behavior":"delete","Checks":[]}`,
		`{"LockDelay":15,"NodeChecks":["serfHealth"],"ServiceChecks":[{"ID":"x"}]}`,
	} {
		f.Add(s)
	}
	// Silent logging: the fuzz target may not log through f.
	quiet := hclog.NewNullLogger()
	st, err := raftstore.New(raftstore.Config{Dev: true, NodeID: "11111111-2222-3333-4444-555555555555", NodeName: "node1"}, quiet)
	if err != nil {
		f.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := st.Start(ctx); err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { _ = st.Shutdown() })
	if err := st.WaitForLeader(ctx); err != nil {
		f.Fatal(err)
	}
	back := backend.New(backend.Config{Store: st, Logger: quiet})
	f.Cleanup(back.Close)
	srv := New(Config{Datacenter: "dc1", NodeName: "node1"}, back, nil, quiet)
	f.Fuzz(func(t *testing.T, body string) {
		for _, path := range []string{"/v1/txn", "/v1/session/create"} {
			before := st.State().LastIndex()
			req := httptest.NewRequest(http.MethodPut, path, strings.NewReader(body))
			rec := httptest.NewRecorder()
			srv.ServeHTTP(rec, req)
			switch rec.Code {
			case 200, 409, 500:
			case 400, 413:
				if after := st.State().LastIndex(); after != before {
					t.Fatalf("%s %q: %d but the state moved %d -> %d", path, body, rec.Code, before, after)
				}
			default:
				t.Fatalf("%s %q: status %d %s", path, body, rec.Code, rec.Body)
			}
		}
	})
}
