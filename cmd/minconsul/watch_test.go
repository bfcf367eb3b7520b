package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/hashicorp/consul/api"
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
