package agent_test

import (
	"testing"

	"github.com/hashicorp/consul/api"

	"github.com/minconsul/minconsul/agent"
	"github.com/minconsul/minconsul/testutil/testagent"
)

// Every agent write is in the catalog when the call returns (Consul's
// handlers sync before answering; client libraries read right after):
// checked with no retry, on a lone server and on a client agent whose
// catalog lives on a server.
func TestAgent_WritesSyncBeforeAnswering(t *testing.T) {
	server := testagent.Start(t, testagent.Options{NodeName: "srv1", DataDir: t.TempDir(), Mutate: func(c *agent.Config) {
		c.BindAddr, c.AdvertiseAddr = "127.0.0.30", "127.0.0.30"
		c.HTTPAddr, c.DNSAddr = "127.0.0.30:0", "127.0.0.30:0"
		c.GossipFast = true
	}})
	client := testagent.StartClient(t, "cl1", "127.0.0.31", server)
	for _, a := range []*testagent.Agent{server, client} {
		t.Run(a.NodeName(), func(t *testing.T) { checkWritesSynced(t, a.NodeName(), a.Client(t)) })
	}
}

func checkWritesSynced(t *testing.T, node string, c *api.Client) {
	ag, cat, health := c.Agent(), c.Catalog(), c.Health()
	svcName := "sync-" + node
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	checkStatus := func(id, want string) {
		t.Helper()
		checks, _, err := health.Node(node, nil)
		must(err)
		for _, chk := range checks {
			if chk.CheckID == id {
				if chk.Status != want {
					t.Fatalf("check %s: %s, want %s", id, chk.Status, want)
				}
				return
			}
		}
		if want != "" {
			t.Fatalf("check %s not in the catalog: %+v", id, checks)
		}
	}
	must(ag.ServiceRegister(&api.AgentServiceRegistration{ID: svcName + "-1", Name: svcName, Port: 80}))
	rows, _, err := cat.Service(svcName, "", nil)
	must(err)
	if len(rows) != 1 {
		t.Fatalf("after register: %+v", rows)
	}
	must(ag.CheckRegister(&api.AgentCheckRegistration{ID: "ttl-" + node, Name: "ttl", AgentServiceCheck: api.AgentServiceCheck{TTL: "10m"}}))
	checkStatus("ttl-"+node, api.HealthCritical)
	must(ag.PassTTL("ttl-"+node, "ok"))
	checkStatus("ttl-"+node, api.HealthPassing)
	must(ag.WarnTTL("ttl-"+node, "hmm"))
	checkStatus("ttl-"+node, api.HealthWarning)
	must(ag.FailTTL("ttl-"+node, "bad"))
	checkStatus("ttl-"+node, api.HealthCritical)
	must(ag.UpdateTTL("ttl-"+node, "fine", api.HealthPassing))
	checkStatus("ttl-"+node, api.HealthPassing)
	must(ag.CheckDeregister("ttl-" + node))
	checkStatus("ttl-"+node, "")
	must(ag.ServiceDeregister(svcName + "-1"))
	rows, _, err = cat.Service(svcName, "", nil)
	must(err)
	if len(rows) != 0 {
		t.Fatalf("deregistered service still in the catalog: %+v", rows)
	}
}
