package main

import (
	"syscall"
	"testing"

	"github.com/hashicorp/consul/api"

	"github.com/minconsul/minconsul/registrar"
	"github.com/minconsul/minconsul/testutil/testagent"
)

// `maint` against a real agent: list, enable, disable, node and service,
// and Consul's flag errors.
func TestMaint_Command(t *testing.T) {
	a := testagent.Start(t, testagent.Options{NodeName: "maint-node"})
	if err := a.Client(t).Agent().ServiceRegister(&api.AgentServiceRegistration{ID: "web1", Name: "web"}); err != nil {
		t.Fatal(err)
	}
	ha := "-http-addr=" + a.HTTPAddr()
	steps := []struct {
		args           []string
		rc             int
		stdout, stderr string
	}{
		{[]string{"maint", ha}, 0, "", ""},
		{[]string{"maint", ha, "-enable", "-disable"}, 1, "", "Only one of -enable or -disable may be provided\n"},
		{[]string{"maint", ha, "-reason", "x"}, 1, "", "Reason may only be provided with -enable\n"},
		{[]string{"maint", ha, "-service", "web1"}, 1, "", "Service requires either -enable or -disable\n"},
		{[]string{"maint", ha, "-enable", "-reason", "kernel upgrade"}, 0, "Node maintenance is now enabled\n", ""},
		{[]string{"maint", ha, "-enable", "-service", "web1", "-reason", "deploy"}, 0, "Service maintenance is now enabled for \"web1\"\n", ""},
		{[]string{"maint", ha}, 0, "Node:\n  Name:   maint-node\n  Reason: kernel upgrade\n\nService:\n  ID:     web1\n  Reason: deploy\n\n", ""},
		{[]string{"maint", ha, "-disable", "-service", "nope"}, 1, "", "Error disabling service maintenance: Unexpected response code: 404 (No service registered with ID \"nope\")\n"},
		{[]string{"maint", ha, "-disable"}, 0, "Node maintenance is now disabled\n", ""},
		{[]string{"maint", ha, "-disable", "-service", "web1"}, 0, "Service maintenance is now disabled for \"web1\"\n", ""},
		{[]string{"maint", ha}, 0, "", ""},
	}
	for i, s := range steps {
		rc, out, errOut := runCLI(t, "", s.args...)
		if rc != s.rc || out != s.stdout || errOut != s.stderr {
			t.Fatalf("step %d %q: rc=%d\nstdout=%q\nstderr=%q\nwant rc=%d stdout=%q stderr=%q", i, s.args, rc, out, errOut, s.rc, s.stdout, s.stderr)
		}
	}
}

// The agent command gives the agent a Docker exec for Docker checks,
// whether or not the registrar runs.
func TestAgentCmd_WiresDockerExec(t *testing.T) {
	fa := newFakeAgent()
	sigs, done, out := startAgentCmd(t, fa, "-dev", "-docker=false")
	sigs <- syscall.SIGTERM
	if rc := waitRC(t, done); rc != 0 {
		t.Fatalf("rc %d, output:\n%s", rc, out)
	}
	fa.mu.Lock()
	defer fa.mu.Unlock()
	if _, ok := fa.cfg.DockerExec.(*registrar.Exec); !ok {
		t.Fatalf("DockerExec = %T, want *registrar.Exec", fa.cfg.DockerExec)
	}
}
