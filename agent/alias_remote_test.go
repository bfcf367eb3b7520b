package agent_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"

	"github.com/minconsul/minconsul/testutil"
	"github.com/minconsul/minconsul/testutil/testagent"
)

// An alias of a service on another node follows that service's existence
// as it changes, even when the service has no checks (so that no check
// change announces it): it is watched with a blocking query of its own.
func TestChecks_AliasRemoteServiceExistence(t *testing.T) {
	a := testagent.Start(t, testagent.Options{})
	c := a.Client(t)
	if err := c.Agent().CheckRegister(&api.AgentCheckRegistration{ID: "alias-ext", Name: "alias ext",
		AgentServiceCheck: api.AgentServiceCheck{AliasNode: "ext1", AliasService: "lonely1"}}); err != nil {
		t.Fatal(err)
	}
	const gone = "Service lonely1 could not be found on node ext1"
	waitCheck(t, c, "alias-ext", api.HealthCritical, gone)
	// The node exists first, without the service; then the service comes.
	if _, err := c.Catalog().Register(&api.CatalogRegistration{Node: "ext1", Address: "192.0.2.9"}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Catalog().Register(&api.CatalogRegistration{Node: "ext1", Address: "192.0.2.9",
		Service: &api.AgentService{ID: "lonely1", Service: "lonely", Port: 9}}, nil); err != nil {
		t.Fatal(err)
	}
	waitCheck(t, c, "alias-ext", api.HealthPassing, "No checks found.")
	if _, err := c.Catalog().Deregister(&api.CatalogDeregistration{Node: "ext1", ServiceID: "lonely1"}, nil); err != nil {
		t.Fatal(err)
	}
	waitCheck(t, c, "alias-ext", api.HealthCritical, gone)
}

// waitCheck waits for node1's check id to have status and output (a
// check registered critical shows no output until first computed).
func waitCheck(t *testing.T, c *api.Client, id, status, output string) {
	t.Helper()
	testutil.Retry(t, 10*time.Second, func() error {
		hc, err := checkStatus(c, "node1", id)
		if err != nil {
			return err
		}
		if hc.Status != status || hc.Output != output {
			return fmt.Errorf("%s is %s %q, want %s %q", id, hc.Status, hc.Output, status, output)
		}
		return nil
	})
}

// When its servers are gone, a client agent's remote alias cannot ask the
// catalog: from the second failure in a row it is critical with Consul's
// text.
func TestChecks_AliasRemoteFailure(t *testing.T) {
	servers := testagent.StartCluster(t, 1)
	cl := testagent.StartClient(t, "client1", "127.0.0.22", servers[0])
	c := cl.Client(t)
	if err := c.Agent().CheckRegister(&api.AgentCheckRegistration{ID: "alias-srv", Name: "alias srv",
		AgentServiceCheck: api.AgentServiceCheck{AliasNode: servers[0].NodeName()}}); err != nil {
		t.Fatal(err)
	}
	local := func(status, prefix string) {
		t.Helper()
		testutil.Retry(t, 30*time.Second, func() error {
			checks, err := c.Agent().Checks()
			if err != nil {
				return err
			}
			hc := checks["alias-srv"]
			if hc == nil || hc.Status != status || !strings.HasPrefix(hc.Output, prefix) {
				return fmt.Errorf("alias %+v, want %s %q...", hc, status, prefix)
			}
			return nil
		})
	}
	local(api.HealthPassing, "All checks passing.")
	if err := servers[0].Shutdown(); err != nil {
		t.Fatal(err)
	}
	local(api.HealthCritical, "Failure checking aliased node or service: ")
}
