package agent_test

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"

	"github.com/minconsul/minconsul/testutil"
	"github.com/minconsul/minconsul/testutil/testagent"
)

func put(t *testing.T, a *testagent.Agent, path string) (int, string) {
	t.Helper()
	return do(t, http.MethodPut, "http://"+a.HTTPAddr()+path, nil)
}

func do(t *testing.T, method, url string, hdr http.Header) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, url, nil)
	for k, v := range hdr {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// Node and service maintenance through the official client: Consul's
// check IDs, names and notes, DNS drops what is in maintenance, and
// disabling brings it back.
func TestMaintenance_NodeAndService(t *testing.T) {
	a := testagent.Start(t, testagent.Options{})
	c := a.Client(t)
	for i, id := range []string{"web1", "web2"} {
		if err := c.Agent().ServiceRegister(&api.AgentServiceRegistration{ID: id, Name: "web", Port: 8080 + i}); err != nil {
			t.Fatal(err)
		}
	}
	waitA := func(want int) {
		t.Helper()
		testutil.Retry(t, 5*time.Second, func() error {
			srv := testutil.DNSQuery(t, a.DNSAddr(), "web.service.consul", 33 /* SRV */)
			if len(srv.Answer) != want {
				return fmt.Errorf("%d SRV answers, want %d", len(srv.Answer), want)
			}
			return nil
		})
	}
	waitA(2)

	if err := c.Agent().EnableServiceMaintenance("web1", "deploying"); err != nil {
		t.Fatal(err)
	}
	hc, err := checkStatus(c, "node1", "_service_maintenance:web1")
	if err != nil {
		t.Fatalf("maintenance check not in the catalog when the call returned: %v", err)
	}
	if hc.Status != api.HealthCritical || hc.Name != "Service Maintenance Mode" || hc.Notes != "deploying" ||
		hc.ServiceID != "web1" || hc.ServiceName != "web" {
		t.Fatalf("service maintenance check: %+v", hc)
	}
	waitA(1)
	// Enabling again keeps the first reason, as Consul.
	if err := c.Agent().EnableServiceMaintenance("web1", "other"); err != nil {
		t.Fatal(err)
	}
	if hc, _ := checkStatus(c, "node1", "_service_maintenance:web1"); hc == nil || hc.Notes != "deploying" {
		t.Fatalf("second enable: %+v", hc)
	}

	if err := c.Agent().EnableNodeMaintenance(""); err != nil {
		t.Fatal(err)
	}
	hc, err = checkStatus(c, "node1", "_node_maintenance")
	if err != nil || hc.Status != api.HealthCritical || hc.Name != "Node Maintenance Mode" ||
		hc.Notes != "Maintenance mode is enabled for this node, but no reason was provided. This is a default message." {
		t.Fatalf("node maintenance check: %+v %v", hc, err)
	}
	waitA(0)
	if err := c.Agent().DisableNodeMaintenance(); err != nil {
		t.Fatal(err)
	}
	if err := c.Agent().DisableServiceMaintenance("web1"); err != nil {
		t.Fatal(err)
	}
	if _, err := checkStatus(c, "node1", "_node_maintenance"); err == nil {
		t.Fatal("node maintenance check left in the catalog")
	}
	waitA(2)
}

func TestMaintenance_BadInput(t *testing.T) {
	a := testagent.Start(t, testagent.Options{})
	for _, tc := range []struct {
		path string
		code int
		body string
	}{
		{"/v1/agent/maintenance", 400, "Missing value for enable"},
		{"/v1/agent/maintenance?enable=maybe", 400, `Invalid value for enable: "maybe"`},
		{"/v1/agent/service/maintenance/", 400, "Missing service ID"},
		{"/v1/agent/service/maintenance/web1", 400, "Missing value for enable"},
		{"/v1/agent/service/maintenance/nope?enable=true", 404, `No service registered with ID "nope"`},
		{"/v1/agent/service/maintenance/nope?enable=false", 404, `No service registered with ID "nope"`},
	} {
		if code, body := put(t, a, tc.path); code != tc.code || !strings.Contains(body, tc.body) {
			t.Errorf("PUT %s: %d %q, want %d %q", tc.path, code, body, tc.code, tc.body)
		}
	}
	if code, _ := do(t, http.MethodGet, "http://"+a.HTTPAddr()+"/v1/agent/maintenance?enable=true", nil); code != 405 {
		t.Errorf("GET maintenance: %d, want 405", code)
	}
	checks, _ := a.Client(t).Agent().Checks()
	if len(checks) != 0 {
		t.Fatalf("bad input changed something: %v", checks)
	}
}

// /v1/agent/health/service/{id,name}: 200 / 429 / 503 / 404 with Consul's
// JSON through the official client, and ?format=text.
func TestAgentHealth_ServiceEndpoints(t *testing.T) {
	a := testagent.Start(t, testagent.Options{})
	c := a.Client(t)
	for _, id := range []string{"api1", "api2"} {
		reg := &api.AgentServiceRegistration{ID: id, Name: "api", Port: 80, Tags: []string{"v1"},
			Check: &api.AgentServiceCheck{CheckID: id + "-ttl", TTL: "10m", Status: api.HealthPassing}}
		if err := c.Agent().ServiceRegister(reg); err != nil {
			t.Fatal(err)
		}
	}
	status, info, err := c.Agent().AgentHealthServiceByID("api1")
	if err != nil || status != api.HealthPassing || info.AggregatedStatus != api.HealthPassing ||
		info.Service.ID != "api1" || len(info.Checks) != 1 || info.Checks[0].CheckID != "api1-ttl" {
		t.Fatalf("passing by ID: %s %+v %v", status, info, err)
	}
	if err := c.Agent().UpdateTTL("api2-ttl", "slow", api.HealthWarning); err != nil {
		t.Fatal(err)
	}
	status, infos, err := c.Agent().AgentHealthServiceByName("api")
	if err != nil || status != api.HealthWarning || len(infos) != 2 {
		t.Fatalf("one warning by name: %s %+v %v", status, infos, err)
	}
	base := "http://" + a.HTTPAddr() + "/v1/agent/health/service/"
	if code, body := do(t, "GET", base+"name/api?format=text", nil); code != 429 || body != "warning" {
		t.Fatalf("text by name: %d %q", code, body)
	}
	if code, body := do(t, "GET", base+"id/api2", http.Header{"Accept": {"text/plain"}}); code != 429 || body != "warning" {
		t.Fatalf("Accept text/plain by id: %d %q", code, body)
	}
	// A node-level check counts for every service.
	if err := c.Agent().EnableNodeMaintenance("reboot"); err != nil {
		t.Fatal(err)
	}
	status, info, err = c.Agent().AgentHealthServiceByID("api1")
	if err != nil || status != api.HealthCritical || len(info.Checks) != 2 {
		t.Fatalf("critical by ID: %s %+v %v", status, info, err)
	}
	if code, body := do(t, "GET", base+"id/api1?format=text", nil); code != 503 || body != "critical" {
		t.Fatalf("text critical: %d %q", code, body)
	}
	// Unknown: 404, Consul's texts and JSON.
	if code, body := do(t, "GET", base+"id/nope?format=text", nil); code != 404 || body != "ServiceId nope not found" {
		t.Fatalf("unknown id text: %d %q", code, body)
	}
	if code, body := do(t, "GET", base+"id/nope", nil); code != 404 || !strings.Contains(body, `"AggregatedStatus":"critical"`) {
		t.Fatalf("unknown id json: %d %q", code, body)
	}
	if code, body := do(t, "GET", base+"name/nope?format=text", nil); code != 404 || body != "ServiceName nope Not Found" {
		t.Fatalf("unknown name text: %d %q", code, body)
	}
	if code, body := do(t, "GET", base+"name/nope", nil); code != 404 || strings.TrimSpace(body) != "[]" {
		t.Fatalf("unknown name json: %d %q", code, body)
	}
	if code, body := do(t, "GET", base+"name/", nil); code != 400 || !strings.Contains(body, "Missing service Name") {
		t.Fatalf("missing name: %d %q", code, body)
	}
	if code, body := do(t, "GET", base+"id/", nil); code != 400 || !strings.Contains(body, "Missing serviceID") {
		t.Fatalf("missing id: %d %q", code, body)
	}
}

// Maintenance survives a restart, as Consul persists its check.
func TestMaintenance_Persisted(t *testing.T) {
	dir := t.TempDir()
	a := testagent.Start(t, testagent.Options{DataDir: dir})
	c := a.Client(t)
	if err := c.Agent().ServiceRegister(&api.AgentServiceRegistration{ID: "db1", Name: "db"}); err != nil {
		t.Fatal(err)
	}
	if err := c.Agent().EnableServiceMaintenance("db1", "disk swap"); err != nil {
		t.Fatal(err)
	}
	if err := a.Shutdown(); err != nil {
		t.Fatal(err)
	}
	b := testagent.Start(t, testagent.Options{DataDir: dir})
	checks, err := b.Client(t).Agent().Checks()
	if err != nil {
		t.Fatal(err)
	}
	if hc := checks["_service_maintenance:db1"]; hc == nil || hc.Notes != "disk swap" || hc.Status != api.HealthCritical {
		t.Fatalf("after restart: %+v", checks)
	}
}
