package httpapi_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/hashicorp/consul/api"

	"github.com/minconsul/minconsul/testutil/testagent"
)

// TestFilter_Endpoints checks ?filter through the official client against a
// real agent on every endpoint Consul filters, with Consul's selectors.
func TestFilter_Endpoints(t *testing.T) {
	a := testagent.Start(t, testagent.Options{NodeName: "node1"})
	c := a.Client(t)
	ag := c.Agent()
	for _, reg := range []*api.AgentServiceRegistration{
		{ID: "redis1", Name: "redis", Tags: []string{"primary", "production"}, Meta: map[string]string{"env": "production"}, Port: 1234,
			Check: &api.AgentServiceCheck{CheckID: "redis1-ttl", TTL: "10m", Status: "passing"}},
		{ID: "redis3", Name: "redis", Tags: []string{"primary", "qa"}, Meta: map[string]string{"env": "qa"}, Port: 1235,
			Check: &api.AgentServiceCheck{CheckID: "redis3-ttl", TTL: "10m", Status: "critical"}},
	} {
		if err := ag.ServiceRegister(reg); err != nil {
			t.Fatal(err)
		}
	}
	for _, n := range []struct{ node, addr, os string }{{"n-linux", "10.0.0.2", "linux"}, {"n-bsd", "10.0.0.3", "freebsd"}} {
		_, err := c.Catalog().Register(&api.CatalogRegistration{Node: n.node, Address: n.addr, NodeMeta: map[string]string{"os": n.os},
			Service: &api.AgentService{ID: "redis-" + n.node, Service: "redis", Port: 6379, Meta: map[string]string{"env": "qa"}},
			Check:   &api.AgentCheck{CheckID: "chk-" + n.node, Name: "svc check", Status: "warning", ServiceID: "redis-" + n.node}}, nil)
		if err != nil {
			t.Fatal(err)
		}
	}

	svcs, err := ag.ServicesWithFilter(`Meta.env == "qa"`)
	if err != nil || len(svcs) != 1 || svcs["redis3"] == nil {
		t.Fatalf("agent services: %v %v", svcs, err)
	}
	checks, err := ag.ChecksWithFilter(`Status == "critical"`)
	if err != nil || len(checks) != 1 || checks["redis3-ttl"] == nil {
		t.Fatalf("agent checks: %v %v", checks, err)
	}
	nodes, _, err := c.Catalog().Nodes(&api.QueryOptions{Filter: `Meta.os == "linux"`})
	if err != nil || len(nodes) != 1 || nodes[0].Node != "n-linux" {
		t.Fatalf("catalog nodes: %v %v", nodes, err)
	}
	names, _, err := c.Catalog().Services(&api.QueryOptions{Filter: `NodeMeta.os == "linux" or ServiceTags contains "qa"`})
	if err != nil || len(names) != 1 || strings.Join(names["redis"], ",") != "primary,qa" {
		t.Fatalf("catalog services: %v %v", names, err)
	}
	if all, _, err := c.Catalog().Services(nil); err != nil || len(all) != 2 || all["consul"] == nil {
		t.Fatalf("catalog services unfiltered: %v %v", all, err)
	}
	rows, _, err := c.Catalog().Service("redis", "", &api.QueryOptions{Filter: `NodeMeta.os == "freebsd" or ServiceTags contains "qa"`})
	if err != nil || len(rows) != 2 {
		t.Fatalf("catalog service: %v %v", rows, err)
	}
	node, _, err := c.Catalog().Node("node1", &api.QueryOptions{Filter: `"production" in Tags`})
	if err != nil || len(node.Services) != 1 || node.Services["redis1"] == nil {
		t.Fatalf("catalog node: %+v %v", node, err)
	}
	list, _, err := c.Catalog().NodeServiceList("node1", &api.QueryOptions{Filter: `Port == 1235`})
	if err != nil || len(list.Services) != 1 || list.Services[0].ID != "redis3" {
		t.Fatalf("catalog node-services: %+v %v", list, err)
	}
	hn, _, err := c.Health().Node("node1", &api.QueryOptions{Filter: `ServiceName != ""`})
	if err != nil || len(hn) != 2 {
		t.Fatalf("health node: %v %v", hn, err)
	}
	hc, _, err := c.Health().Checks("redis", &api.QueryOptions{Filter: `Node matches "^n-"`})
	if err != nil || len(hc) != 2 {
		t.Fatalf("health checks: %v %v", hc, err)
	}
	hs, _, err := c.Health().Service("redis", "", false, &api.QueryOptions{Filter: `Service.Meta.env == "qa" and Checks.Status == "critical"`})
	if err != nil || len(hs) != 1 || hs[0].Service.ID != "redis3" {
		t.Fatalf("health service: %v %v", hs, err)
	}
	st, _, err := c.Health().State("any", &api.QueryOptions{Filter: `CheckID == "serfHealth"`})
	if err != nil || len(st) != 1 || st[0].Node != "node1" {
		t.Fatalf("health state: %v %v", st, err)
	}

	// Invalid expressions and unknown selectors: 400 with bexpr's (Consul's) text.
	for _, call := range []struct {
		name string
		fn   func(filter string) error
	}{
		{"agent services", func(f string) error { _, err := ag.ServicesWithFilter(f); return err }},
		{"agent checks", func(f string) error { _, err := ag.ChecksWithFilter(f); return err }},
		{"catalog nodes", func(f string) error { _, _, err := c.Catalog().Nodes(&api.QueryOptions{Filter: f}); return err }},
		{"catalog services", func(f string) error { _, _, err := c.Catalog().Services(&api.QueryOptions{Filter: f}); return err }},
		{"catalog service", func(f string) error {
			_, _, err := c.Catalog().Service("redis", "", &api.QueryOptions{Filter: f})
			return err
		}},
		{"catalog node", func(f string) error { _, _, err := c.Catalog().Node("node1", &api.QueryOptions{Filter: f}); return err }},
		{"catalog node-services", func(f string) error {
			_, _, err := c.Catalog().NodeServiceList("node1", &api.QueryOptions{Filter: f})
			return err
		}},
		{"health node", func(f string) error { _, _, err := c.Health().Node("node1", &api.QueryOptions{Filter: f}); return err }},
		{"health checks", func(f string) error {
			_, _, err := c.Health().Checks("redis", &api.QueryOptions{Filter: f})
			return err
		}},
		{"health service", func(f string) error {
			_, _, err := c.Health().Service("redis", "", false, &api.QueryOptions{Filter: f})
			return err
		}},
		{"health state", func(f string) error { _, _, err := c.Health().State("any", &api.QueryOptions{Filter: f}); return err }},
	} {
		err := call.fn("foo")
		if err == nil || !strings.Contains(err.Error(), "400 (Failed to create boolean expression evaluator: 1:4 (3): no match found") {
			t.Errorf("%s: invalid expression: %v", call.name, err)
		}
		err = call.fn(`Bogus == "x"`)
		if err == nil || !strings.Contains(err.Error(), `400 (Failed to create boolean expression evaluator: Selector "Bogus" is not valid)`) {
			t.Errorf("%s: unknown selector: %v", call.name, err)
		}
	}
	// Fields Consul does not offer for selection are not selectable here.
	if _, _, err := c.Health().State("any", &api.QueryOptions{Filter: `CreateIndex == 1`}); err == nil || !strings.Contains(err.Error(), "400") {
		t.Errorf("CreateIndex selectable: %v", err)
	}
}

// TestFilter_Blocking: a filtered blocking read answers the same index as the
// unfiltered one, and wakes on a change to the unfiltered result.
func TestFilter_Blocking(t *testing.T) {
	a := testagent.Start(t, testagent.Options{NodeName: "node1"})
	c := a.Client(t)
	if err := c.Agent().ServiceRegister(&api.AgentServiceRegistration{ID: "web1", Name: "web", Tags: []string{"a"}}); err != nil {
		t.Fatal(err)
	}
	_, all, err := c.Catalog().Service("web", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	rows, meta, err := c.Catalog().Service("web", "", &api.QueryOptions{Filter: `"b" in ServiceTags`})
	if err != nil || len(rows) != 0 || meta.LastIndex != all.LastIndex {
		t.Fatalf("filtered: %v index %d, unfiltered index %d, %v", rows, meta.LastIndex, all.LastIndex, err)
	}
	done := make(chan error, 1)
	go func() {
		done <- c.Agent().ServiceRegister(&api.AgentServiceRegistration{ID: "web2", Name: "web", Tags: []string{"b"}})
	}()
	rows, meta2, err := c.Catalog().Service("web", "", &api.QueryOptions{Filter: `"b" in ServiceTags`, WaitIndex: meta.LastIndex})
	if err != nil || meta2.LastIndex <= meta.LastIndex {
		t.Fatalf("blocking filtered read: %v %v", meta2, err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1 || rows[0].ServiceID != "web2" {
		// The write that woke the read may precede web2's (a sync); read again.
		rows, _, err = c.Catalog().Service("web", "", &api.QueryOptions{Filter: `"b" in ServiceTags`})
		if err != nil || len(rows) != 1 || rows[0].ServiceID != "web2" {
			t.Fatalf("after: %v %v", rows, err)
		}
	}
}

// TestDC_EveryEndpoint: ?dc naming another datacenter answers 500 "No path
// to datacenter" on every endpoint taking ?dc, writes included (nothing
// written); the local agent's endpoints ignore it, as Consul's do.
func TestDC_EveryEndpoint(t *testing.T) {
	a := testagent.Start(t, testagent.Options{NodeName: "node1"})
	c := a.Client(t)
	other := &api.WriteOptions{Datacenter: "dc9"}
	if _, err := c.KV().Put(&api.KVPair{Key: "k", Value: []byte("v")}, other); err == nil || !strings.Contains(err.Error(), "500 (No path to datacenter)") {
		t.Fatalf("kv put: %v", err)
	}
	if p, _, err := c.KV().Get("k", nil); err != nil || p != nil {
		t.Fatalf("refused write was written: %v %v", p, err)
	}
	if _, err := c.Catalog().Register(&api.CatalogRegistration{Node: "x", Address: "1.2.3.4"}, other); err == nil || !strings.Contains(err.Error(), "No path to datacenter") {
		t.Fatalf("catalog register: %v", err)
	}
	q := &api.QueryOptions{Datacenter: "dc9"}
	for name, fn := range map[string]func() error{
		"catalog nodes":   func() error { _, _, err := c.Catalog().Nodes(q); return err },
		"catalog service": func() error { _, _, err := c.Catalog().Service("consul", "", q); return err },
		"health state":    func() error { _, _, err := c.Health().State("any", q); return err },
		"status leader":   func() error { _, err := c.Status().LeaderWithQueryOptions(q); return err },
		"kv keys":         func() error { _, _, err := c.KV().Keys("", "", q); return err },
	} {
		if err := fn(); err == nil || !strings.Contains(err.Error(), "500 (No path to datacenter)") {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := c.Agent().ServicesWithFilterOpts("", q); err != nil {
		t.Errorf("agent services with ?dc: %v", err)
	}
}

// Consul's Connect selectors are valid (they select nothing here).
func TestFilter_ConnectSelectors(t *testing.T) {
	a := testagent.Start(t, testagent.Options{NodeName: "node1"})
	c := a.Client(t)
	if err := c.Agent().ServiceRegister(&api.AgentServiceRegistration{Name: "web"}); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{`ServiceProxy.DestinationServiceName == ""`, `ServiceConnect.Native == false`,
		`ServiceProxy.Upstreams is empty`, `ServiceProxy.MeshGateway.Mode == ""`, `ServiceKind == ""`} {
		rows, _, err := c.Catalog().Service("web", "", &api.QueryOptions{Filter: f})
		if err != nil || len(rows) != 1 {
			t.Errorf("%s: %v %v", f, rows, err)
		}
	}
	// The shape stays Consul's: empty Connect blocks.
	resp, err := http.Get("http://" + a.HTTPAddr() + "/v1/catalog/service/web")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), `"ServiceProxy":{"MeshGateway":{},"Expose":{}},"ServiceConnect":{}`) {
		t.Errorf("shape: %s", body)
	}
	rows, _, err := c.Health().Service("web", "", false, &api.QueryOptions{Filter: `Service.Proxy.LocalServicePort == 0 and Service.Kind == ""`})
	if err != nil || len(rows) != 1 {
		t.Errorf("health service: %v %v", rows, err)
	}
}
