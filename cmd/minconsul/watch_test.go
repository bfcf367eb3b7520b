package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"
	"github.com/minconsul/minconsul/testutil"
	"github.com/minconsul/minconsul/testutil/testagent"
)

// Without a handler, watch prints the view as indented JSON and exits;
// bad parameters answer Consul's messages.
func TestWatch_PrintsViewAndValidates(t *testing.T) {
	a := testagent.Start(t, testagent.Options{NodeName: "w1"})
	c := a.Client(t)
	if _, err := c.KV().Put(&api.KVPair{Key: "app/cfg", Value: []byte("x")}, nil); err != nil {
		t.Fatal(err)
	}
	if err := c.Agent().ServiceRegister(&api.AgentServiceRegistration{Name: "web", Tags: []string{"t1"}}); err != nil {
		t.Fatal(err)
	}
	ha := "-http-addr=" + a.HTTPAddr()

	rc, out, errOut := runCLI(t, "", "watch", ha, "-type", "key", "-key", "app/cfg")
	var pair api.KVPair
	if rc != 0 || json.Unmarshal([]byte(out), &pair) != nil || string(pair.Value) != "x" || !strings.Contains(out, "\n    \"Key\"") {
		t.Fatalf("key: %d %q %q", rc, out, errOut)
	}
	rc, out, _ = runCLI(t, "", "watch", ha, "-type", "keyprefix", "-prefix", "app/")
	var pairs []api.KVPair
	if rc != 0 || json.Unmarshal([]byte(out), &pairs) != nil || len(pairs) != 1 {
		t.Fatalf("keyprefix: %d %q", rc, out)
	}
	rc, out, _ = runCLI(t, "", "watch", ha, "-type", "services")
	var svcs map[string][]string
	if rc != 0 || json.Unmarshal([]byte(out), &svcs) != nil || len(svcs["web"]) != 1 {
		t.Fatalf("services: %d %q", rc, out)
	}
	rc, out, _ = runCLI(t, "", "watch", ha, "-type", "service", "-service", "web", "-tag", "t1", "-passingonly", "true")
	var entries []api.ServiceEntry
	if rc != 0 || json.Unmarshal([]byte(out), &entries) != nil || len(entries) != 1 {
		t.Fatalf("service: %d %q", rc, out)
	}
	rc, out, _ = runCLI(t, "", "watch", ha, "-type", "nodes")
	var nodes []api.Node
	if rc != 0 || json.Unmarshal([]byte(out), &nodes) != nil || len(nodes) != 1 {
		t.Fatalf("nodes: %d %q", rc, out)
	}
	rc, out, _ = runCLI(t, "", "watch", ha, "-type", "checks", "-state", "passing")
	var checks []api.HealthCheck
	if rc != 0 || json.Unmarshal([]byte(out), &checks) != nil || len(checks) == 0 {
		t.Fatalf("checks: %d %q", rc, out)
	}
	rc, out, _ = runCLI(t, "", "watch", ha, "-type", "event")
	if rc != 0 || strings.TrimSpace(out) != "[]" {
		t.Fatalf("event: %d %q", rc, out)
	}

	for _, tc := range []struct {
		args []string
		err  string
	}{
		{[]string{"watch", ha}, "Watch type must be specified\n"},
		{[]string{"watch", ha, "-type", "key"}, "Must specify a single key to watch\n"},
		{[]string{"watch", ha, "-type", "key", "-key", "a", "-prefix", "b"}, "Invalid parameters: [prefix]\n"},
		{[]string{"watch", ha, "-type", "service"}, "Must specify a single service to watch\n"},
		{[]string{"watch", ha, "-type", "checks", "-service", "a", "-state", "passing"}, "Cannot specify service and state\n"},
		{[]string{"watch", ha, "-type", "bogus"}, "Unsupported watch type: bogus\n"},
		{[]string{"watch", ha, "-type", "service", "-service", "a", "-passingonly", "x"}, "Failed to parse passingonly flag: strconv.ParseBool: parsing \"x\": invalid syntax\n"},
		{[]string{"event", ha}, "Event name must be specified\n"},
		{[]string{"event", ha, "-name", "a", "-tag", "x"}, "Cannot provide tag filter without service filter.\n"},
		{[]string{"event", ha, "-name", "a", "p1", "p2"}, "Too many command line arguments.\n"},
	} {
		if rc, _, errOut := runCLI(t, "", tc.args...); rc != 1 || errOut != tc.err {
			t.Errorf("%v: %d %q, want %q", tc.args, rc, errOut, tc.err)
		}
	}
	rc, out, _ = runCLI(t, "", "event", ha, "-name", "hello", "payload")
	if rc != 0 || !strings.HasPrefix(out, "Event ID: ") {
		t.Fatalf("event: %d %q", rc, out)
	}
}

// With a handler, watch (the built binary) runs it at start and again on
// each change, with the view as JSON on stdin and CONSUL_INDEX set.
func TestWatch_HandlerRerunsOnChange(t *testing.T) {
	a := testagent.Start(t, testagent.Options{NodeName: "w2"})
	c := a.Client(t)
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, testutil.Binary(t), "watch", "-http-addr", a.HTTPAddr(), "-type", "key", "-key", "cfg",
		`printf '%s ' "$CONSUL_INDEX" >> `+out+`; cat >> `+out)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	lines := func() []string {
		b, _ := os.ReadFile(out)
		return strings.Split(strings.TrimSpace(string(b)), "\n")
	}
	waitLine := func(n int, want string) {
		t.Helper()
		testutil.Retry(t, 20*time.Second, func() error {
			l := lines()
			if len(l) < n || !strings.Contains(l[n-1], want) {
				return fmt.Errorf("handler runs %q, want run %d with %q", l, n, want)
			}
			return nil
		})
	}
	waitLine(1, "null") // the key does not exist yet
	for i, v := range []string{"v1", "v2"} {
		if _, err := c.KV().Put(&api.KVPair{Key: "cfg", Value: []byte(v)}, nil); err != nil {
			t.Fatal(err)
		}
		waitLine(i+2, `"Value":"`+base64.StdEncoding.EncodeToString([]byte(v))+`"`)
	}
	l := lines()
	var idx uint64
	if _, err := fmt.Sscanf(l[2], "%d ", &idx); err != nil || idx == 0 {
		t.Fatalf("CONSUL_INDEX in %q: %v", l[2], err)
	}
}
