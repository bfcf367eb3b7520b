package agent_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/minconsul/minconsul/testutil/testagent"
)

// /v1/agent/monitor streams the log line a request causes, as text and as
// JSON lines, through consul/api's Monitor; an unknown level is a 400.
func TestMonitor_StreamsRequestLog(t *testing.T) {
	a := testagent.Start(t, testagent.Options{NodeName: "mon1"})
	c := a.Client(t)
	for _, asJSON := range []bool{false, true} {
		stop := make(chan struct{})
		monitor := c.Agent().Monitor
		if asJSON {
			monitor = c.Agent().MonitorJSON
		}
		lines, err := monitor("debug", stop, nil)
		if err != nil {
			t.Fatal(err)
		}
		probe := "/v1/kv/monitor-probe"
		found := false
		deadline := time.After(20 * time.Second)
		tick := time.NewTicker(100 * time.Millisecond)
		for !found {
			select {
			case line := <-lines:
				if !strings.Contains(line, probe) {
					continue
				}
				found = true
				if asJSON {
					var m map[string]any
					if err := json.Unmarshal([]byte(line), &m); err != nil || m["@message"] != "request" {
						t.Fatalf("JSON line %q: %v", line, err)
					}
				} else if !strings.Contains(line, "[DEBUG]") {
					t.Fatalf("text line %q", line)
				}
			case <-tick.C:
				// Requests until the monitor has attached and streams.
				_, _, _ = c.KV().Get(strings.TrimPrefix(probe, "/v1/kv/"), nil)
			case <-deadline:
				t.Fatalf("no log line with %s (json %v)", probe, asJSON)
			}
		}
		tick.Stop()
		close(stop)
	}
	resp, err := http.Get("http://" + a.HTTPAddr() + "/v1/agent/monitor?loglevel=FOO")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 400 || string(b) != "Unknown log level: FOO" {
		t.Fatalf("bad level: %d %q", resp.StatusCode, b)
	}
}
