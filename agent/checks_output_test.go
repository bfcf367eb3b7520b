package agent_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"

	"github.com/minconsul/minconsul/agent"
	"github.com/minconsul/minconsul/testutil"
	"github.com/minconsul/minconsul/testutil/testagent"
)

// check_output_max_size caps every check kind's output on this agent; a
// check's own OutputMaxSize lowers it (never raises it); a negative one is
// refused with Consul's text and registers nothing.
func TestChecks_OutputMaxSize(t *testing.T) {
	a := testagent.Start(t, testagent.Options{Mutate: func(c *agent.Config) {
		c.CheckOutputMaxSize = 100
		c.EnableScriptChecks = true
	}})
	c := a.Client(t)
	ag := c.Agent()

	long := strings.Repeat("0123456789", 50) // 500 bytes
	for _, tc := range []struct {
		id      string
		own, at int
	}{{"ttl-agent", 0, 100}, {"ttl-own", 10, 10}, {"ttl-raise", 1000, 100}} {
		if code, msg := putJSON(t, a, "/v1/agent/check/register",
			fmt.Sprintf(`{"ID":%q,"Name":%q,"TTL":"10m","OutputMaxSize":%d}`, tc.id, tc.id, tc.own)); code != 200 {
			t.Fatalf("register %s: %d %s", tc.id, code, msg)
		}
		if err := ag.UpdateTTL(tc.id, long, api.HealthPassing); err != nil {
			t.Fatal(err)
		}
		hc, err := checkStatus(c, "node1", tc.id)
		if err != nil {
			t.Fatal(err)
		}
		if want := long[:tc.at] + fmt.Sprintf(" ... (captured %d of 500 bytes)", tc.at); hc.Output != want {
			t.Fatalf("%s: output %q, want %q", tc.id, hc.Output, want)
		}
	}

	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, long) }))
	t.Cleanup(srv.Close)
	script := t.TempDir() + "/talk.sh"
	if err := os.WriteFile(script, []byte("#!/bin/sh\nprintf '"+long+"'\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if code, msg := putJSON(t, a, "/v1/agent/service/register", `{"ID":"web1","Name":"web","Checks":[
		{"CheckID":"http","HTTP":"`+srv.URL+`","Interval":"200ms","OutputMaxSize":8},
		{"CheckID":"script","Args":["`+script+`"],"Interval":"200ms","output_max_size":5},
		{"CheckID":"script-agent","Args":["`+script+`"],"Interval":"200ms"}]}`); code != 200 {
		t.Fatalf("register web1: %d %s", code, msg)
	}
	if hc := waitStatus(t, c, "node1", "http", api.HealthPassing); hc.Output != "HTTP GET "+srv.URL+": 200 OK Output: "+long[492:] {
		t.Fatalf("http output %q", hc.Output)
	}
	if hc := waitStatus(t, c, "node1", "script", api.HealthPassing); hc.Output != "Captured 5 of 500 bytes\n...\n"+long[495:] {
		t.Fatalf("script output %q", hc.Output)
	}
	if hc := waitStatus(t, c, "node1", "script-agent", api.HealthPassing); hc.Output != "Captured 100 of 500 bytes\n...\n"+long[400:] {
		t.Fatalf("script output at the agent's cap %q", hc.Output)
	}

	// The check's own size shows in its Definition, as Consul's.
	resp, err := http.Get("http://" + a.HTTPAddr() + "/v1/health/node/node1")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), `"OutputMaxSize":8`) {
		t.Fatalf("no OutputMaxSize in the http check's Definition: %s", body)
	}

	code, msg := putJSON(t, a, "/v1/agent/check/register", `{"ID":"neg","Name":"neg","TTL":"10s","OutputMaxSize":-1}`)
	if code != 400 || !strings.Contains(msg, "Invalid check: MaxOutputMaxSize must be positive") {
		t.Fatalf("negative OutputMaxSize: %d %s", code, msg)
	}
	if checks, err := ag.Checks(); err != nil || checks["neg"] != nil {
		t.Fatalf("refused check registered anyway (%v)", err)
	}
}

// putJSON PUTs body to the agent (consul/api's AgentServiceCheck has no
// OutputMaxSize, though Consul's agent endpoints take it) and answers the
// status and body.
func putJSON(t *testing.T, a *testagent.Agent, path, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPut, "http://"+a.HTTPAddr()+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// Probes start at a random point within their interval, as Consul's (see
// checks.TestRun_Staggered), and a newly registered check still reports
// its first result within about one interval.
func TestChecks_FirstProbeWithinInterval(t *testing.T) {
	a := testagent.Start(t, testagent.Options{})
	c := a.Client(t)
	srv, _ := flipServer(t)
	start := time.Now()
	if err := c.Agent().CheckRegister(&api.AgentCheckRegistration{ID: "h", Name: "h",
		AgentServiceCheck: api.AgentServiceCheck{HTTP: srv.URL, Interval: "1s"}}); err != nil {
		t.Fatal(err)
	}
	testutil.Retry(t, 10*time.Second, func() error {
		hc, err := checkStatus(c, "node1", "h")
		if err != nil || hc.Status != api.HealthPassing {
			return fmt.Errorf("not passing yet (%v)", err)
		}
		return nil
	})
	t.Logf("first result after %v (interval 1s)", time.Since(start))
}
