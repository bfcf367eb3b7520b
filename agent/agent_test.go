package agent_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"
	"github.com/miekg/dns"
	"github.com/minconsul/minconsul/agent"
	"github.com/minconsul/minconsul/structs"
	"github.com/minconsul/minconsul/testutil"
	"github.com/minconsul/minconsul/testutil/testagent"
)

// The tutorial: a registrator-style registration shows up in DNS (A and
// SRV with the node's A record in extra), in the catalog with Consul's
// JSON, and KV round-trips with a base64 value.
func TestAgent_Tutorial(t *testing.T) {
	a := testagent.Start(t, testagent.Options{NodeName: "myconsul"})
	c := a.Client(t)

	reg := &api.AgentServiceRegistration{ID: "d7492c56c92a:sad_leakey:8080", Name: "hello-world", Port: 8080}
	if err := c.Agent().ServiceRegister(reg); err != nil {
		t.Fatal(err)
	}

	r := testutil.DNSQuery(t, a.DNSAddr(), "hello-world.service.consul", dns.TypeA)
	if len(r.Answer) != 1 || r.Answer[0].(*dns.A).A.String() != "127.0.0.1" {
		t.Fatalf("A answer: %v", r.Answer)
	}
	r = testutil.DNSQuery(t, a.DNSAddr(), "hello-world.service.consul", dns.TypeSRV)
	if len(r.Answer) != 1 {
		t.Fatalf("SRV answer: %v", r.Answer)
	}
	srv := r.Answer[0].(*dns.SRV)
	if srv.Port != 8080 || srv.Target != "myconsul.node.dc1.consul." || srv.Priority != 1 || srv.Weight != 1 {
		t.Fatalf("SRV: %v", srv)
	}
	if len(r.Extra) != 1 || r.Extra[0].Header().Name != "myconsul.node.dc1.consul." || r.Extra[0].(*dns.A).A.String() != "127.0.0.1" {
		t.Fatalf("SRV extra: %v", r.Extra)
	}

	resp, err := http.Get("http://" + a.HTTPAddr() + "/v1/catalog/service/hello-world")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var rows []map[string]any
	if err := json.Unmarshal(body, &rows); err != nil || len(rows) != 1 {
		t.Fatalf("catalog service: %v %s", err, body)
	}
	for _, f := range []string{"ID", "Node", "Address", "Datacenter", "TaggedAddresses", "NodeMeta", "ServiceID",
		"ServiceName", "ServiceTags", "ServiceAddress", "ServiceMeta", "ServicePort", "ServiceWeights",
		"ServiceEnableTagOverride", "CreateIndex", "ModifyIndex"} {
		if _, ok := rows[0][f]; !ok {
			t.Errorf("catalog service row lacks %s: %s", f, body)
		}
	}
	if rows[0]["ServiceAddress"] != "" || rows[0]["Node"] != "myconsul" || rows[0]["ServiceID"] != reg.ID || rows[0]["Datacenter"] != "dc1" {
		t.Errorf("catalog service row: %s", body)
	}
	if idx := resp.Header.Get("X-Consul-Index"); idx == "" || idx == "0" {
		t.Errorf("X-Consul-Index %q", idx)
	}

	req, _ := http.NewRequest(http.MethodPut, "http://"+a.HTTPAddr()+"/v1/kv/docker/rules", strings.NewReader("Yes, it does"))
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if strings.TrimSpace(string(body)) != "true" {
		t.Fatalf("kv put answered %q", body)
	}
	resp, err = http.Get("http://" + a.HTTPAddr() + "/v1/kv/docker/rules")
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	var kv []map[string]any
	if err := json.Unmarshal(body, &kv); err != nil {
		t.Fatal(err)
	}
	idx := kv[0]["ModifyIndex"]
	want := fmt.Sprintf(`[{"LockIndex":0,"Key":"docker/rules","Flags":0,"Value":"WWVzLCBpdCBkb2Vz","CreateIndex":%v,"ModifyIndex":%v}]`, idx, idx)
	if strings.TrimSpace(string(body)) != want {
		t.Fatalf("kv get:\n got %s\nwant %s", body, want)
	}
}

// Every node carries serfHealth; a TTL check starts critical, keeps the
// instance out of ?passing and DNS, and a pass brings it in.
func TestAgent_TTLCheckHealth(t *testing.T) {
	a := testagent.Start(t, testagent.Options{})
	c := a.Client(t)

	checks, _, err := c.Health().Node("node1", nil)
	if err != nil || len(checks) != 1 || checks[0].CheckID != "serfHealth" || checks[0].Status != "passing" {
		t.Fatalf("node checks: %v %+v", err, checks)
	}
	err = c.Agent().ServiceRegister(&api.AgentServiceRegistration{Name: "web", Port: 80, Tags: []string{"v1"},
		Check: &api.AgentServiceCheck{TTL: "30s"}})
	if err != nil {
		t.Fatal(err)
	}
	entries, _, err := c.Health().Service("web", "", false, nil)
	if err != nil || len(entries) != 1 || entries[0].Checks.AggregatedStatus() != api.HealthCritical {
		t.Fatalf("health service: %v %+v", err, entries)
	}
	if entries, _, _ := c.Health().Service("web", "", true, nil); len(entries) != 0 {
		t.Fatalf("critical instance in ?passing: %+v", entries)
	}
	if r := testutil.DNSQuery(t, a.DNSAddr(), "web.service.consul", dns.TypeSRV); len(r.Answer) != 0 {
		t.Fatalf("critical instance in DNS: %v", r.Answer)
	}
	if err := c.Agent().UpdateTTL("service:web", "ok", api.HealthPassing); err != nil {
		t.Fatal(err)
	}
	entries, _, err = c.Health().Service("web", "v1", true, nil)
	if err != nil || len(entries) != 1 || entries[0].Checks[1].Output != "ok" {
		t.Fatalf("after pass: %v %+v", err, entries)
	}
	if r := testutil.DNSQuery(t, a.DNSAddr(), "v1.web.service.consul", dns.TypeSRV); len(r.Answer) != 1 {
		t.Fatalf("passing instance not in DNS: %v", r)
	}
	agentChecks, err := c.Agent().Checks()
	if err != nil || agentChecks["service:web"] == nil || agentChecks["service:web"].Status != "passing" {
		t.Fatalf("agent checks: %v %+v", err, agentChecks)
	}
	if err := c.Agent().UpdateTTL("nope", "", api.HealthPassing); err == nil || !strings.Contains(err.Error(), "404") {
		t.Fatalf("unknown check: %v", err)
	}
}

func TestAgent_TTLExpires(t *testing.T) {
	a := testagent.Start(t, testagent.Options{})
	c := a.Client(t)
	err := c.Agent().CheckRegister(&api.AgentCheckRegistration{Name: "heartbeat",
		AgentServiceCheck: api.AgentServiceCheck{TTL: "200ms", Status: api.HealthPassing}})
	if err != nil {
		t.Fatal(err)
	}
	testutil.Retry(t, 5*time.Second, func() error {
		checks, _, err := c.Health().State(api.HealthCritical, nil)
		if err != nil {
			return err
		}
		for _, ch := range checks {
			if ch.CheckID == "heartbeat" && strings.Contains(ch.Output, "TTL expired") {
				return nil
			}
		}
		return fmt.Errorf("heartbeat not critical yet: %+v", checks)
	})
}

func TestAgent_DeregisterAndValidation(t *testing.T) {
	a := testagent.Start(t, testagent.Options{})
	c := a.Client(t)
	if err := c.Agent().ServiceRegister(&api.AgentServiceRegistration{Name: "db", ID: "db1", Port: 5432,
		Check: &api.AgentServiceCheck{TTL: "10s"}}); err != nil {
		t.Fatal(err)
	}
	svcs, err := c.Agent().Services()
	if err != nil || svcs["db1"] == nil || svcs["db1"].Service != "db" || svcs["db1"].Port != 5432 {
		t.Fatalf("agent services: %v %+v", err, svcs)
	}
	if err := c.Agent().ServiceDeregister("db1"); err != nil {
		t.Fatal(err)
	}
	rows, _, err := c.Catalog().Service("db", "", nil)
	if err != nil || len(rows) != 0 {
		t.Fatalf("after deregister: %v %+v", err, rows)
	}
	if checks, _, _ := c.Health().Checks("db", nil); len(checks) != 0 {
		t.Fatalf("checks left behind: %+v", checks)
	}
	if err := c.Agent().ServiceDeregister("db1"); err == nil || !strings.Contains(err.Error(), "404") {
		t.Fatalf("second deregister: %v", err)
	}
	err = c.Agent().ServiceRegister(&api.AgentServiceRegistration{Port: 1})
	if err == nil || !strings.Contains(err.Error(), "400") || !strings.Contains(err.Error(), "Missing service name") {
		t.Fatalf("nameless service: %v", err)
	}
	err = c.Agent().ServiceRegister(&api.AgentServiceRegistration{Name: "x", Check: &api.AgentServiceCheck{TTL: "soon"}})
	if err == nil || !strings.Contains(err.Error(), "400") {
		t.Fatalf("bad TTL: %v", err)
	}
	if svcs, _ := c.Agent().Services(); len(svcs) != 0 {
		t.Fatalf("a rejected registration left state: %+v", svcs)
	}
}

func TestAgent_HTTPAndTCPChecks(t *testing.T) {
	a := testagent.Start(t, testagent.Options{})
	c := a.Client(t)
	err := c.Agent().ServiceRegister(&api.AgentServiceRegistration{Name: "api", Port: 1,
		Checks: api.AgentServiceChecks{
			{HTTP: "http://" + a.HTTPAddr() + "/v1/status/leader", Interval: "100ms"},
			{TCP: a.HTTPAddr(), Interval: "100ms"},
		}})
	if err != nil {
		t.Fatal(err)
	}
	testutil.Retry(t, 5*time.Second, func() error {
		entries, _, err := c.Health().Service("api", "", true, nil)
		if err != nil {
			return err
		}
		if len(entries) != 1 || len(entries[0].Checks) != 3 {
			return fmt.Errorf("not passing yet: %+v", entries)
		}
		return nil
	})
}

func TestAgent_ConfigServicesAndReload(t *testing.T) {
	next := []*structs.ServiceDefinition{{Name: "b", Port: 2}}
	a := testagent.Start(t, testagent.Options{Mutate: func(cfg *agent.Config) {
		cfg.Services = []*structs.ServiceDefinition{{Name: "a", Port: 1, Check: &structs.CheckDefinition{TTL: "10s"}}}
		cfg.Reload = func() (*agent.Config, error) {
			c := testagent.DefaultConfig("node1")
			c.Services = next
			return c, nil
		}
	}})
	c := a.Client(t)
	testutil.Retry(t, 5*time.Second, func() error {
		svcs, _, err := c.Catalog().Services(nil)
		if err != nil || svcs["a"] == nil {
			return fmt.Errorf("config service missing: %v %v", err, svcs)
		}
		return nil
	})
	if err := c.Agent().Reload(); err != nil {
		t.Fatal(err)
	}
	svcs, _, err := c.Catalog().Services(nil)
	if err != nil || svcs["a"] != nil || svcs["b"] == nil {
		t.Fatalf("after reload: %v %v", err, svcs)
	}
}

// A blocking query on a key wakes when that key is written, not before.
func TestAgent_BlockingKV(t *testing.T) {
	a := testagent.Start(t, testagent.Options{})
	c := a.Client(t)
	if _, err := c.KV().Put(&api.KVPair{Key: "w", Value: []byte("1")}, nil); err != nil {
		t.Fatal(err)
	}
	_, meta, err := c.KV().Get("w", nil)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan *api.KVPair, 1)
	go func() {
		p, _, _ := c.KV().Get("w", &api.QueryOptions{WaitIndex: meta.LastIndex, WaitTime: time.Minute})
		done <- p
	}()
	if _, err := c.KV().Put(&api.KVPair{Key: "other", Value: []byte("x")}, nil); err != nil {
		t.Fatal(err)
	}
	select {
	case p := <-done:
		t.Fatalf("woke on an unrelated key: %+v", p)
	case <-time.After(100 * time.Millisecond):
	}
	if _, err := c.KV().Put(&api.KVPair{Key: "w", Value: []byte("2")}, nil); err != nil {
		t.Fatal(err)
	}
	select {
	case p := <-done:
		if p == nil || string(p.Value) != "2" {
			t.Fatalf("woke with %+v", p)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("blocking query not woken by the write")
	}
}

// Writes survive a restart with the same data dir (in-process; the SIGKILL
// variant runs the binary in e2e).
func TestAgent_RestartKeepsData(t *testing.T) {
	dir := t.TempDir()
	a := testagent.Start(t, testagent.Options{DataDir: dir, Mutate: func(c *agent.Config) { c.ServerPort = 0 }})
	c := a.Client(t)
	for i := 0; i < 20; i++ {
		if _, err := c.KV().Put(&api.KVPair{Key: fmt.Sprintf("k/%02d", i), Value: []byte{byte(i)}}, nil); err != nil {
			t.Fatal(err)
		}
	}
	id := a.Config.NodeID
	if err := a.Shutdown(); err != nil {
		t.Fatal(err)
	}
	b := testagent.Start(t, testagent.Options{DataDir: dir, Mutate: func(c *agent.Config) { c.ServerPort = 0 }})
	if b.Config.NodeID != id {
		t.Fatalf("node id changed across restart: %s -> %s", id, b.Config.NodeID)
	}
	pairs, _, err := b.Client(t).KV().List("k/", nil)
	if err != nil || len(pairs) != 20 {
		t.Fatalf("after restart: %v %d pairs", err, len(pairs))
	}
}

// A TTL check's last update survives a restart (until its TTL runs out),
// as in Consul; a deregistered check's state does not come back.
func TestAgent_TTLCheckStateSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	opts := testagent.Options{DataDir: dir, Mutate: func(c *agent.Config) { c.ServerPort = 0 }}
	a := testagent.Start(t, opts)
	c := a.Client(t)
	reg := &api.AgentServiceRegistration{ID: "web-1", Name: "web", Port: 80, Checks: api.AgentServiceChecks{
		{CheckID: "web-ttl", TTL: "1h"},
		{CheckID: "web-short", TTL: "1ms"}, // its state has expired by the restart
	}}
	if err := c.Agent().ServiceRegister(reg); err != nil {
		t.Fatal(err)
	}
	if err := c.Agent().CheckRegister(&api.AgentCheckRegistration{ID: "lone", Name: "lone",
		AgentServiceCheck: api.AgentServiceCheck{TTL: "1h"}}); err != nil {
		t.Fatal(err)
	}
	if err := c.Agent().UpdateTTL("web-ttl", "all good", api.HealthPassing); err != nil {
		t.Fatal(err)
	}
	if err := c.Agent().UpdateTTL("web-short", "briefly good", api.HealthPassing); err != nil {
		t.Fatal(err)
	}
	if err := c.Agent().UpdateTTL("lone", "meh", api.HealthWarning); err != nil {
		t.Fatal(err)
	}
	if err := c.Agent().CheckDeregister("lone"); err != nil {
		t.Fatal(err)
	}
	if err := a.Shutdown(); err != nil {
		t.Fatal(err)
	}
	b := testagent.Start(t, opts)
	checks, err := b.Client(t).Agent().Checks()
	if err != nil {
		t.Fatal(err)
	}
	if ch := checks["web-ttl"]; ch == nil || ch.Status != api.HealthPassing || ch.Output != "all good" {
		t.Errorf("web-ttl after restart: %+v, want passing with its output", ch)
	}
	if ch := checks["web-short"]; ch == nil || ch.Status != api.HealthCritical {
		t.Errorf("web-short after restart: %+v, want critical (its state had expired)", ch)
	}
	if ch := checks["lone"]; ch != nil {
		t.Errorf("deregistered check came back: %+v", ch)
	}
	// The catalog agrees once anti-entropy has run.
	testutil.Retry(t, 10*time.Second, func() error {
		hcs, _, err := b.Client(t).Health().Checks("web", nil)
		if err != nil {
			return err
		}
		for _, hc := range hcs {
			if hc.CheckID == "web-ttl" && hc.Status == api.HealthPassing {
				return nil
			}
		}
		return fmt.Errorf("catalog checks %v", hcs)
	})
	// Re-registering the deregistered check starts critical.
	if err := b.Client(t).Agent().CheckRegister(&api.AgentCheckRegistration{ID: "lone", Name: "lone",
		AgentServiceCheck: api.AgentServiceCheck{TTL: "1h"}}); err != nil {
		t.Fatal(err)
	}
	checks, _ = b.Client(t).Agent().Checks()
	if ch := checks["lone"]; ch == nil || ch.Status != api.HealthCritical {
		t.Errorf("re-registered lone: %+v, want critical", ch)
	}
}

// A -dev agent without gossip has no member to force out: it says so with
// a 400 (every agent can force-leave; none answers "not supported").
func TestAgent_ForceLeaveWithoutGossip(t *testing.T) {
	a := testagent.Start(t, testagent.Options{})
	err := a.Client(t).Agent().ForceLeave("n2")
	if err == nil || !strings.Contains(err.Error(), "400") || !strings.Contains(err.Error(), "runs without gossip") {
		t.Fatalf("force-leave on a lone agent: %v", err)
	}
}
