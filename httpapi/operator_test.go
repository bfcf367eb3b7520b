package httpapi

import (
	"context"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/hashicorp/consul/api"

	"github.com/minconsul/minconsul/structs"
)

func TestOperator_RaftPeer(t *testing.T) {
	e := newEnv(t)
	e.run(t, []httpCase{
		{name: "no selector", method: "DELETE", path: "/v1/operator/raft/peer", status: 400,
			want: "Must specify either ?id with the server's ID or ?address with IP:port of peer to remove", exact: true},
		{name: "both", method: "DELETE", path: "/v1/operator/raft/peer?id=a&address=b", status: 400,
			want: "Must specify only one of ?id or ?address", exact: true},
		{name: "unknown id", method: "DELETE", path: "/v1/operator/raft/peer?id=nope", status: 500,
			want: `id "nope" was not found in the Raft configuration`, exact: true},
		{name: "unknown address", method: "DELETE", path: "/v1/operator/raft/peer?address=10.1.1.1:8300", status: 500,
			want: `address "10.1.1.1:8300" was not found in the Raft configuration`, exact: true},
		{name: "wrong method", method: "GET", path: "/v1/operator/raft/peer?id=x", status: 405},
		{name: "other dc", method: "DELETE", path: "/v1/operator/raft/peer?id=x&dc=dc9", status: 500, want: "No path to datacenter", exact: true},
	})
	if err := e.client.Operator().RaftRemovePeerByID("nope", nil); err == nil {
		t.Error("api client: removing an unknown id succeeded")
	}
	// The failed removals left the configuration alone.
	cfg, err := e.client.Operator().RaftGetConfiguration(nil)
	if err != nil || len(cfg.Servers) != 1 || !cfg.Servers[0].Voter {
		t.Fatalf("configuration after refused removals: %+v %v", cfg, err)
	}

	srv := New(Config{Datacenter: "dc1"}, struct{ Store }{e.store}, nil, testLogger(t))
	w := newRecorder()
	srv.ServeHTTP(w, httptest.NewRequest("DELETE", "/v1/operator/raft/peer?id=x", nil))
	if w.Code != 500 || w.Body.String() != "not supported on this agent" {
		t.Errorf("remote store: %d %q", w.Code, w.Body.String())
	}
}

// leavingAgent adds ForceLeave to the fake agent.
type leavingAgent struct {
	*fakeAgent
	mu   sync.Mutex
	left []string
}

func (a *leavingAgent) ForceLeave(ctx context.Context, node string) error {
	if node == "" {
		return structs.BadRequest("Missing node name")
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.left = append(a.left, node)
	return nil
}

func TestOperator_AgentForceLeave(t *testing.T) {
	e := newEnv(t)
	// The plain fake agent cannot force-leave.
	e.run(t, []httpCase{
		{name: "unsupported", method: "PUT", path: "/v1/agent/force-leave/n2", status: 500, want: "not supported on this agent", exact: true},
	})

	ag := &leavingAgent{fakeAgent: newFakeAgent(e.store)}
	srv := New(Config{Datacenter: "dc1", NodeName: "node1"}, e.store, ag, testLogger(t))
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	cfg := api.DefaultConfig()
	cfg.Address = hs.Listener.Addr().String()
	client, err := api.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := client.Agent().ForceLeave("n2"); err != nil {
		t.Fatal(err)
	}
	env := &testEnv{t: t, http: hs}
	env.run(t, []httpCase{
		{name: "missing node", method: "PUT", path: "/v1/agent/force-leave/", status: 400, want: "Missing node name", exact: true},
		{name: "wrong method", method: "GET", path: "/v1/agent/force-leave/n3", status: 405},
	})
	ag.mu.Lock()
	defer ag.mu.Unlock()
	if len(ag.left) != 1 || ag.left[0] != "n2" {
		t.Fatalf("force-left %v, want [n2]", ag.left)
	}
}
