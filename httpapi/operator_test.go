package httpapi

import (
	"testing"
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
}

func TestOperator_AgentForceLeave(t *testing.T) {
	e := newEnv(t)
	if err := e.client.Agent().ForceLeave("n2"); err != nil {
		t.Fatal(err)
	}
	e.run(t, []httpCase{
		{name: "missing node", method: "PUT", path: "/v1/agent/force-leave/", status: 400, want: "Missing node name", exact: true},
		{name: "wrong method", method: "GET", path: "/v1/agent/force-leave/n3", status: 405},
	})
	e.agent.mu.Lock()
	defer e.agent.mu.Unlock()
	if len(e.agent.forced) != 1 || e.agent.forced[0] != "n2" {
		t.Fatalf("force-left %v, want [n2]", e.agent.forced)
	}
}
