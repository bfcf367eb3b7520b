package httpapi

import (
	"testing"
	"time"

	"github.com/hashicorp/consul/api"
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

// /v1/operator/usage counts nodes, service names and instances ("consul"
// is not billable), echoes the query metadata in the body as Consul does,
// and blocks like any read.
func TestOperator_Usage(t *testing.T) {
	e := newEnv(t)
	registerWeb(t, e, "n1", "10.0.0.1", "web1", nil, nil, "passing")
	registerWeb(t, e, "n2", "10.0.0.2", "web2", nil, nil, "passing")
	if _, err := e.client.Catalog().Register(&api.CatalogRegistration{Node: "n2", Address: "10.0.0.2",
		Service: &api.AgentService{ID: "consul", Service: "consul", Port: 8300}}, nil); err != nil {
		t.Fatal(err)
	}
	u, qm, err := e.client.Operator().Usage(nil)
	if err != nil {
		t.Fatal(err)
	}
	got := u.Usage["dc1"]
	if len(u.Usage) != 1 || got.Nodes != 2 || got.Services != 2 || got.ServiceInstances != 3 || got.BillableServiceInstances != 2 ||
		len(got.ConnectServiceInstances) != 5 || got.ConnectServiceInstances["connect-proxy"] != 0 || qm.LastIndex == 0 || !qm.KnownLeader {
		t.Fatalf("usage %+v meta %+v", u.Usage, qm)
	}
	e.run(t, []httpCase{
		{name: "meta in body", method: "GET", path: "/v1/operator/usage?stale", status: 200, want: `"KnownLeader":true,"LastContact":0,"ConsistencyLevel":"stale"`},
		{name: "other dc", method: "GET", path: "/v1/operator/usage?dc=dc9", status: 500, want: "No path to datacenter", exact: true},
		{name: "put", method: "PUT", path: "/v1/operator/usage", status: 405},
	})

	done := make(chan int, 1)
	go func() {
		u, _, err := e.client.Operator().Usage(&api.QueryOptions{WaitIndex: qm.LastIndex, WaitTime: time.Minute})
		if err != nil {
			done <- -1
			return
		}
		done <- u.Usage["dc1"].ServiceInstances
	}()
	e.waitParked(t, 1)
	registerWeb(t, e, "n3", "10.0.0.3", "web3", nil, nil, "passing")
	select {
	case n := <-done:
		if n != 4 {
			t.Fatalf("woken with %d instances, want 4", n)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a registration did not wake the blocked usage query")
	}
}
