package httpapi

import (
	"strings"
	"testing"

	"github.com/hashicorp/consul/api"
)

func TestAgent_APIClient(t *testing.T) {
	e := newEnv(t)
	ag := e.client.Agent()
	self, err := ag.Self()
	if err != nil || self["Config"]["NodeName"] != "node1" {
		t.Fatalf("self: %v %v", self, err)
	}
	members, err := ag.Members(false)
	if err != nil || len(members) != 1 || members[0].Name != "node1" {
		t.Fatalf("members: %v %v", members, err)
	}
	err = ag.ServiceRegister(&api.AgentServiceRegistration{
		ID: "web1", Name: "web", Port: 80, Tags: []string{"a"},
		Check: &api.AgentServiceCheck{TTL: "10s"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := ag.ServiceRegisterOpts(&api.AgentServiceRegistration{Name: "db"}, api.ServiceRegisterOpts{ReplaceExistingChecks: true}); err != nil {
		t.Fatal(err)
	}
	svcs, err := ag.Services()
	if err != nil || svcs["web1"] == nil || svcs["web1"].Port != 80 || svcs["db"] == nil || svcs["db"].Tags == nil {
		t.Fatalf("services: %+v %v", svcs, err)
	}
	svc, _, err := ag.Service("web1", nil)
	if err != nil || svc.Service != "web" {
		t.Fatalf("service: %+v %v", svc, err)
	}
	if _, _, err := ag.Service("nope", nil); err == nil || !strings.Contains(err.Error(), "404") {
		t.Fatalf("missing service: %v", err)
	}
	// The registration reached the catalog through the store.
	rows, _, err := e.client.Catalog().Service("web", "", nil)
	if err != nil || len(rows) != 1 {
		t.Fatalf("catalog: %v %v", rows, err)
	}

	if err := ag.PassTTL("service:web1", "all good"); err != nil {
		t.Fatal(err)
	}
	checks, err := ag.Checks()
	if err != nil || checks["service:web1"] == nil || checks["service:web1"].Status != "passing" || checks["service:web1"].Output != "all good" {
		t.Fatalf("checks: %+v %v", checks, err)
	}
	if err := ag.UpdateTTL("service:web1", "slow", api.HealthWarning); err != nil {
		t.Fatal(err)
	}
	if err := ag.FailTTL("service:web1", ""); err != nil {
		t.Fatal(err)
	}
	if err := ag.WarnTTL("nope", ""); err == nil {
		t.Fatal("expected an error for an unknown check")
	}
	if err := ag.CheckRegister(&api.AgentCheckRegistration{Name: "mem", AgentServiceCheck: api.AgentServiceCheck{TTL: "5s"}}); err != nil {
		t.Fatal(err)
	}
	if err := ag.CheckDeregister("mem"); err != nil {
		t.Fatal(err)
	}
	if err := ag.ServiceDeregister("web1"); err != nil {
		t.Fatal(err)
	}
	if err := ag.ServiceDeregister("web1"); err == nil {
		t.Fatal("expected 404 for a second deregister")
	}
	if err := ag.Join("10.1.2.3", true); err != nil {
		t.Fatal(err)
	}
	if err := ag.Reload(); err != nil {
		t.Fatal(err)
	}
	if err := ag.Leave(); err != nil {
		t.Fatal(err)
	}
	e.agent.mu.Lock()
	defer e.agent.mu.Unlock()
	if len(e.agent.joined) != 1 || e.agent.joined[0] != "10.1.2.3 wan=true" || !e.agent.left || e.agent.reloads != 1 {
		t.Fatalf("agent calls: %v %v %d", e.agent.joined, e.agent.left, e.agent.reloads)
	}
}

func TestAgent_Table(t *testing.T) {
	e := newEnv(t)
	e.run(t, []httpCase{
		{name: "register no name", method: "PUT", path: "/v1/agent/service/register", body: `{}`, status: 400, want: "Missing service name", exact: true},
		{name: "register bad json", method: "PUT", path: "/v1/agent/service/register", body: `{"Port":"x"}`, status: 400, want: "Request decode failed: "},
		{name: "register bad replace", method: "PUT", path: "/v1/agent/service/register?replace-existing-checks=zz", body: `{"Name":"a"}`, status: 400, want: "Invalid value for ?replace-existing-checks", exact: true},
		{name: "register GET", method: "GET", path: "/v1/agent/service/register", status: 405, want: "method GET not allowed", exact: true},
		{name: "update bad status", method: "PUT", path: "/v1/agent/check/update/x", body: `{"Status":"ok"}`, status: 400, want: "Invalid check status: 'ok'", exact: true},
		{name: "update bad json", method: "PUT", path: "/v1/agent/check/update/x", body: `[`, status: 400, want: "Request decode failed: "},
		{name: "pass unknown", method: "PUT", path: "/v1/agent/check/pass/x", status: 404, want: "does not have associated TTL"},
		{name: "pass GET", method: "GET", path: "/v1/agent/check/pass/x", status: 405, want: "method GET not allowed", exact: true},
		{name: "deregister unknown", method: "PUT", path: "/v1/agent/service/deregister/zz", status: 404, want: "Unknown service ID"},
		{name: "leave GET", method: "GET", path: "/v1/agent/leave", status: 405},
		{name: "services", method: "GET", path: "/v1/agent/services", status: 200, want: `{}`, exact: true},
		{name: "checks", method: "GET", path: "/v1/agent/checks", status: 200, want: `{}`, exact: true},
		{name: "members", method: "GET", path: "/v1/agent/members", status: 200, want: `"Name":"node1"`},
	})
}

func TestStatus_Table(t *testing.T) {
	e := newEnv(t)
	leader := e.store.Leader()
	e.run(t, []httpCase{
		{name: "leader", method: "GET", path: "/v1/status/leader", status: 200, want: `"` + leader + `"`, exact: true},
		{name: "peers", method: "GET", path: "/v1/status/peers", status: 200, want: `["` + leader + `"]`, exact: true},
		{name: "raft config", method: "GET", path: "/v1/operator/raft/configuration", status: 200, want: `"Leader":true`},
		{name: "raft config stale+consistent", method: "GET", path: "/v1/operator/raft/configuration?stale&consistent", status: 400},
		{name: "index", method: "GET", path: "/ui/", status: 200, want: "minconsul"},
		{name: "ui deep link", method: "GET", path: "/ui/dc1/kv/a%40b/", status: 200, want: "<main"},
		{name: "nothing", method: "GET", path: "/favicon.ico", status: 404, want: "ensure the path starts with '/v1/'"},
	})
	leaderAPI, err := e.client.Status().Leader()
	if err != nil || leaderAPI != leader {
		t.Fatalf("leader %q %v", leaderAPI, err)
	}
	peers, err := e.client.Status().Peers()
	if err != nil || len(peers) != 1 {
		t.Fatalf("peers %v %v", peers, err)
	}
	cfg, err := e.client.Operator().RaftGetConfiguration(nil)
	if err != nil || len(cfg.Servers) != 1 || !cfg.Servers[0].Leader {
		t.Fatalf("raft config %+v %v", cfg, err)
	}
}

func TestIndex_Redirect(t *testing.T) {
	e := newEnv(t)
	// The default client follows redirects; look at the first hop.
	resp, err := e.http.Client().Transport.RoundTrip(mustReq(t, "GET", e.http.URL+"/"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 301 || resp.Header.Get("Location") != "/ui/" {
		t.Fatalf("index: %d %v", resp.StatusCode, resp.Header)
	}
	resp, err = e.http.Client().Transport.RoundTrip(mustReq(t, "GET", e.http.URL+"/ui?x=1"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 301 || resp.Header.Get("Location") != "/ui/?x=1" {
		t.Fatalf("/ui: %d %v", resp.StatusCode, resp.Header)
	}
	noUI := New(Config{Datacenter: "dc1"}, e.back, nil, nil)
	rec := newRecorder()
	noUI.ServeHTTP(rec, mustReq(t, "GET", "/"))
	if rec.Code != 200 || !strings.HasPrefix(rec.Body.String(), "Consul Agent: UI disabled.") {
		t.Fatalf("no ui: %d %q", rec.Code, rec.Body.String())
	}
	rec = newRecorder()
	noUI.ServeHTTP(rec, mustReq(t, "GET", "/ui/"))
	if rec.Code != 404 {
		t.Fatalf("no ui /ui/: %d", rec.Code)
	}
	rec = newRecorder()
	noUI.ServeHTTP(rec, mustReq(t, "GET", "/v1/agent/self"))
	if rec.Code != 404 {
		t.Fatalf("no agent: %d", rec.Code)
	}
}
