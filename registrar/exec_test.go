package registrar_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"
	"github.com/miekg/dns"

	"github.com/minconsul/minconsul/agent"
	"github.com/minconsul/minconsul/registrar"
	"github.com/minconsul/minconsul/testutil"
	"github.com/minconsul/minconsul/testutil/testagent"
)

// Exec against a real container: output, exit codes, engine errors.
func TestExec_RealContainer(t *testing.T) {
	s := newScope(t)
	id, _ := s.create(ctr{name: "exec"})
	ex := registrar.NewExec("")
	defer ex.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var out bytes.Buffer
	// The server is up once its own probe passes.
	testutil.Retry(t, 20*time.Second, func() error {
		out.Reset()
		code, err := ex.Exec(ctx, id, []string{"/hello-world", "-probe"}, &out)
		if err != nil || code != 0 {
			return fmt.Errorf("probe: %d %v %q", code, err, out.String())
		}
		return nil
	})
	out.Reset()
	code, err := ex.Exec(ctx, id, []string{"/hello-world", "-probe", "-port", "1"}, &out)
	if err != nil || code != 1 || !strings.Contains(out.String(), "connection refused") {
		t.Fatalf("failing probe: %d %v %q", code, err, out.String())
	}
	if _, err := ex.Exec(ctx, "mcreg-no-such-container", []string{"/x"}, &out); err == nil ||
		!strings.Contains(err.Error(), "No such container") {
		t.Fatalf("unknown container: %v", err)
	}
}

// A Docker check (DockerContainerID + Args) execs in a real container and
// follows its state, and DNS follows the check (only_passing, so that the
// probe's exit 1, a warning, takes the instance out). Its Shell is set but,
// as in Consul, Args are exec'd as they are: the container (FROM scratch)
// has no shell, so a check wrapped in one could never pass.
func TestDockerCheck_FlipsAndDNSFollows(t *testing.T) {
	s := newScope(t)
	id, _ := s.create(ctr{name: "dcheck", publish: []string{"127.0.0.1::8080"}})
	port := s.hostPort(id, "8080/tcp")
	ex := registrar.NewExec("")
	defer ex.Close()
	a := testagent.Start(t, testagent.Options{Mutate: func(c *agent.Config) {
		c.EnableScriptChecks, c.DockerExec, c.DNS.OnlyPassing = true, ex, true
	}})
	c := a.Client(t)
	reg := &api.AgentServiceRegistration{ID: "dweb", Name: "dweb", Port: 8080, Checks: api.AgentServiceChecks{
		{CheckID: "docker", DockerContainerID: id, Shell: "/bin/sh", Args: []string{"/hello-world", "-probe"}, Interval: "200ms"},
	}}
	if err := c.Agent().ServiceRegister(reg); err != nil {
		t.Fatal(err)
	}
	status := func(want string) *api.HealthCheck {
		t.Helper()
		var got *api.HealthCheck
		testutil.Retry(t, 20*time.Second, func() error {
			checks, _, err := c.Health().Checks("dweb", nil)
			if err != nil {
				return err
			}
			if len(checks) != 1 || checks[0].Status != want {
				return fmt.Errorf("checks %+v, want %s", checks, want)
			}
			got = checks[0]
			return nil
		})
		return got
	}
	answers := func(want int) {
		t.Helper()
		testutil.Retry(t, 10*time.Second, func() error {
			if n := len(testutil.DNSQuery(t, a.DNSAddr(), "dweb.service.consul", dns.TypeA).Answer); n != want {
				return fmt.Errorf("%d A records, want %d", n, want)
			}
			return nil
		})
	}
	hc := status(api.HealthPassing)
	if hc.Type != "docker" {
		t.Fatalf("docker check: %+v", hc)
	}
	answers(1)
	flip := func(path string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPut, "http://127.0.0.1:"+port+path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	flip("/health/fail")
	if hc := status(api.HealthWarning); !strings.Contains(hc.Output, "unhealthy") {
		t.Fatalf("warning output %q", hc.Output)
	}
	answers(0)
	flip("/health/ok")
	status(api.HealthPassing)
	answers(1)
	// The container gone: the engine's error ("is not running" while it
	// is being removed, then "No such container"), critical.
	s.remove(id)
	if hc := status(api.HealthCritical); !strings.HasPrefix(hc.Output, "Error response from daemon: ") {
		t.Fatalf("critical output %q", hc.Output)
	}
}

// A Docker check's output is capped by its OutputMaxSize (sent as JSON:
// consul/api has no such field) with Consul's note, in a real container.
func TestDockerCheck_OutputMaxSize(t *testing.T) {
	s := newScope(t)
	id, _ := s.create(ctr{name: "dcap"})
	ex := registrar.NewExec("")
	defer ex.Close()
	a := testagent.Start(t, testagent.Options{Mutate: func(c *agent.Config) { c.EnableScriptChecks, c.DockerExec = true, ex }})
	body := `{"ID":"dcap","Name":"dcap","DockerContainerID":"` + id +
		`","Args":["/hello-world","-probe","-port","1"],"Interval":"200ms","OutputMaxSize":6}`
	req, _ := http.NewRequest(http.MethodPut, "http://"+a.HTTPAddr()+"/v1/agent/check/register", strings.NewReader(body))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("register: %d", resp.StatusCode)
	}
	c := a.Client(t)
	testutil.Retry(t, 20*time.Second, func() error {
		checks, err := c.Agent().Checks()
		if err != nil {
			return err
		}
		hc := checks["dcap"]
		// "dial tcp 127.0.0.1:1: connect: connection refused\n", cut.
		if hc == nil || hc.Status != api.HealthWarning || !strings.HasPrefix(hc.Output, "Captured 6 of ") ||
			!strings.HasSuffix(hc.Output, "\n...\nfused\n") {
			return fmt.Errorf("check %+v", hc)
		}
		return nil
	})
}
