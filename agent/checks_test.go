package agent_test

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"
	"github.com/miekg/dns"
	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/minconsul/minconsul/agent"
	"github.com/minconsul/minconsul/testutil"
	"github.com/minconsul/minconsul/testutil/testagent"
)

// flipServer answers 200 while healthy is true, 500 otherwise.
func flipServer(t *testing.T) (*httptest.Server, *atomic.Bool) { return flipServerB(t) }

func flipServerB(t testing.TB) (*httptest.Server, *atomic.Bool) {
	t.Helper()
	var healthy atomic.Bool
	healthy.Store(true)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !healthy.Load() {
			w.WriteHeader(http.StatusInternalServerError)
		}
		fmt.Fprint(w, "state")
	}))
	t.Cleanup(srv.Close)
	return srv, &healthy
}

// dnsAnswers counts the A records of name.
func dnsAnswers(t *testing.T, a *testagent.Agent, name string) int {
	t.Helper()
	return len(testutil.DNSQuery(t, a.DNSAddr(), name, dns.TypeA).Answer)
}

func checkStatus(c *api.Client, node, id string) (*api.HealthCheck, error) {
	checks, _, err := c.Health().Node(node, nil)
	if err != nil {
		return nil, err
	}
	for _, hc := range checks {
		if hc.CheckID == id {
			return hc, nil
		}
	}
	return nil, fmt.Errorf("no check %q on %s", id, node)
}

func waitStatus(t *testing.T, c *api.Client, node, id, status string) *api.HealthCheck {
	t.Helper()
	var got *api.HealthCheck
	testutil.Retry(t, 10*time.Second, func() error {
		hc, err := checkStatus(c, node, id)
		if err != nil {
			return err
		}
		if hc.Status != status {
			return fmt.Errorf("check %s is %s (%s), want %s", id, hc.Status, hc.Output, status)
		}
		got = hc
		return nil
	})
	return got
}

// An HTTP check's failure reaches the catalog and DNS at once, and its
// recovery brings the instance back.
func TestChecks_HTTPFlipFollowsDNS(t *testing.T) {
	a := testagent.Start(t, testagent.Options{})
	c := a.Client(t)
	srv, healthy := flipServer(t)
	reg := &api.AgentServiceRegistration{ID: "web1", Name: "web", Port: 8080, Check: &api.AgentServiceCheck{
		HTTP: srv.URL + "/health", Method: "GET", Interval: "200ms", Header: map[string][]string{"X-Probe": {"1"}}}}
	if err := c.Agent().ServiceRegister(reg); err != nil {
		t.Fatal(err)
	}
	hc := waitStatus(t, c, "node1", "service:web1", api.HealthPassing)
	if want := "HTTP GET " + srv.URL + "/health: 200 OK Output: state"; hc.Output != want || hc.Type != "http" {
		t.Fatalf("passing check: %q (type %q), want %q", hc.Output, hc.Type, want)
	}
	testutil.Retry(t, 5*time.Second, func() error {
		if n := dnsAnswers(t, a, "web.service.consul"); n != 1 {
			return fmt.Errorf("%d A records", n)
		}
		return nil
	})
	healthy.Store(false)
	waitStatus(t, c, "node1", "service:web1", api.HealthCritical)
	testutil.Retry(t, 5*time.Second, func() error {
		if n := dnsAnswers(t, a, "web.service.consul"); n != 0 {
			return fmt.Errorf("%d A records for a critical instance", n)
		}
		return nil
	})
	healthy.Store(true)
	waitStatus(t, c, "node1", "service:web1", api.HealthPassing)
}

// gRPC and H2PING checks registered through the official client against
// real servers.
func TestChecks_GRPCAndH2PING(t *testing.T) {
	a := testagent.Start(t, testagent.Options{})
	c := a.Client(t)

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	gs := grpc.NewServer()
	hs := health.NewServer()
	healthpb.RegisterHealthServer(gs, hs)
	hs.SetServingStatus("billing", healthpb.HealthCheckResponse_SERVING)
	go func() { _ = gs.Serve(ln) }()
	t.Cleanup(gs.Stop)

	h2ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h2 := &http.Server{Handler: http.NotFoundHandler(), Protocols: new(http.Protocols)}
	h2.Protocols.SetUnencryptedHTTP2(true)
	go func() { _ = h2.Serve(h2ln) }()
	t.Cleanup(func() { h2.Close() })

	target := ln.Addr().String() + "/billing"
	reg := &api.AgentServiceRegistration{ID: "billing1", Name: "billing", Port: 9000, Checks: api.AgentServiceChecks{
		{CheckID: "grpc", GRPC: target, Interval: "200ms"},
		{CheckID: "h2", H2PING: h2ln.Addr().String(), H2PingUseTLS: false, Interval: "200ms"},
	}}
	if err := c.Agent().ServiceRegister(reg); err != nil {
		t.Fatal(err)
	}
	hc := waitStatus(t, c, "node1", "grpc", api.HealthPassing)
	if hc.Output != "gRPC check "+target+": success" || hc.Type != "grpc" || hc.Definition.GRPC != target {
		t.Fatalf("grpc check: %+v", hc)
	}
	hc = waitStatus(t, c, "node1", "h2", api.HealthPassing)
	if hc.Output != "HTTP2 ping was successful" || hc.Type != "h2ping" {
		t.Fatalf("h2ping check: %+v", hc)
	}
	dnsCount := func(want int) {
		t.Helper()
		testutil.Retry(t, 5*time.Second, func() error {
			if n := dnsAnswers(t, a, "billing.service.consul"); n != want {
				return fmt.Errorf("%d A records, want %d", n, want)
			}
			return nil
		})
	}
	dnsCount(1)
	hs.SetServingStatus("billing", healthpb.HealthCheckResponse_NOT_SERVING)
	hc = waitStatus(t, c, "node1", "grpc", api.HealthCritical)
	if hc.Output != "gRPC "+target+" serving status: NOT_SERVING" {
		t.Fatalf("not serving: %q", hc.Output)
	}
	dnsCount(0)
	hs.SetServingStatus("billing", healthpb.HealthCheckResponse_SERVING)
	waitStatus(t, c, "node1", "grpc", api.HealthPassing)
	dnsCount(1)
	h2.Close()
	hc = waitStatus(t, c, "node1", "h2", api.HealthCritical)
	if !strings.HasPrefix(hc.Output, "Failed to dial to ") {
		t.Fatalf("h2 server gone: %q", hc.Output)
	}
}

// A script check through the official client (ScriptArgs on the wire):
// exit codes map to statuses, and DNS follows.
func TestChecks_ScriptFollowsDNS(t *testing.T) {
	a := testagent.Start(t, testagent.Options{Mutate: func(c *agent.Config) { c.EnableScriptChecks = true }})
	c := a.Client(t)
	dir := t.TempDir()
	flag := dir + "/sick"
	script := dir + "/check.sh"
	if err := os.WriteFile(script, []byte("#!/bin/sh\nif [ -e "+flag+" ]; then echo down; exit 2; fi\necho up\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	reg := &api.AgentServiceRegistration{ID: "job1", Name: "job", Check: &api.AgentServiceCheck{
		CheckID: "script", Args: []string{script}, Interval: "200ms"}}
	if err := c.Agent().ServiceRegister(reg); err != nil {
		t.Fatal(err)
	}
	if hc := waitStatus(t, c, "node1", "script", api.HealthPassing); hc.Output != "up\n" || hc.Type != "script" {
		t.Fatalf("passing script: %+v", hc)
	}
	testutil.Retry(t, 5*time.Second, func() error {
		if n := dnsAnswers(t, a, "job.service.consul"); n != 1 {
			return fmt.Errorf("%d A records", n)
		}
		return nil
	})
	if err := os.WriteFile(flag, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if hc := waitStatus(t, c, "node1", "script", api.HealthCritical); hc.Output != "down\n" {
		t.Fatalf("critical script: %+v", hc)
	}
	testutil.Retry(t, 5*time.Second, func() error {
		if n := dnsAnswers(t, a, "job.service.consul"); n != 0 {
			return fmt.Errorf("%d A records for a critical instance", n)
		}
		return nil
	})
}

// UDP and TCP+TLS checks registered through the official client.
func TestChecks_UDPAndTCPTLS(t *testing.T) {
	a := testagent.Start(t, testagent.Options{})
	c := a.Client(t)
	pc := testutil.UDPServer(t, []byte("ok"))
	udpAddr := pc.LocalAddr().String()
	tlsSrv := httptest.NewTLSServer(http.NotFoundHandler())
	t.Cleanup(tlsSrv.Close)
	tlsAddr := strings.TrimPrefix(tlsSrv.URL, "https://")
	reg := &api.AgentServiceRegistration{ID: "dns1", Name: "dns", Checks: api.AgentServiceChecks{
		{CheckID: "udp", UDP: udpAddr, Interval: "200ms", Timeout: "500ms"},
		{CheckID: "tls", TCP: tlsAddr, TCPUseTLS: true, TLSSkipVerify: true, Interval: "200ms"},
	}}
	if err := c.Agent().ServiceRegister(reg); err != nil {
		t.Fatal(err)
	}
	if hc := waitStatus(t, c, "node1", "udp", api.HealthPassing); hc.Type != "udp" || hc.Output != "UDP connect "+udpAddr+": Success" {
		t.Fatalf("udp: %+v", hc)
	}
	if hc := waitStatus(t, c, "node1", "tls", api.HealthPassing); hc.Output != "TCP+TLS connect "+tlsAddr+": Success" || !hc.Definition.TCPUseTLS {
		t.Fatalf("tcp+tls: %+v", hc)
	}
	pc.Close()
	waitStatus(t, c, "node1", "udp", api.HealthCritical)
}

// A service whose check stays critical past DeregisterCriticalServiceAfter
// is removed by the agent, from its own state and from the catalog.
func TestChecks_DeregisterCriticalServiceAfter(t *testing.T) {
	a := testagent.Start(t, testagent.Options{Mutate: func(c *agent.Config) {
		c.CheckReapInterval, c.CheckDeregisterMin = 100*time.Millisecond, 0
	}})
	c := a.Client(t)
	reg := &api.AgentServiceRegistration{ID: "doomed", Name: "doomed", Checks: api.AgentServiceChecks{
		{CheckID: "ttl", TTL: "10m", DeregisterCriticalServiceAfter: "1s"}}}
	if err := c.Agent().ServiceRegister(reg); err != nil {
		t.Fatal(err)
	}
	keep := &api.AgentServiceRegistration{ID: "kept", Name: "kept", Checks: api.AgentServiceChecks{
		{CheckID: "kept-ttl", TTL: "10m", Status: api.HealthPassing, DeregisterCriticalServiceAfter: "1s"}}}
	if err := c.Agent().ServiceRegister(keep); err != nil {
		t.Fatal(err)
	}
	testutil.Retry(t, 10*time.Second, func() error {
		svcs, err := c.Agent().Services()
		if err != nil {
			return err
		}
		if _, ok := svcs["doomed"]; ok {
			return fmt.Errorf("critical service still registered")
		}
		nodes, _, err := c.Catalog().Service("doomed", "", nil)
		if err != nil {
			return err
		}
		if len(nodes) != 0 {
			return fmt.Errorf("catalog still has it")
		}
		return nil
	})
	if svcs, _ := c.Agent().Services(); svcs["kept"] == nil {
		t.Fatal("a passing service was reaped")
	}
}

// Alias checks follow the aliased service: locally (AliasService alone)
// and through the catalog (AliasNode).
func TestChecks_Alias(t *testing.T) {
	a := testagent.Start(t, testagent.Options{})
	c := a.Client(t)
	web := &api.AgentServiceRegistration{ID: "web1", Name: "web", Check: &api.AgentServiceCheck{CheckID: "web-ttl", TTL: "10m"}}
	sidecar := &api.AgentServiceRegistration{ID: "proxy1", Name: "proxy", Checks: api.AgentServiceChecks{
		{CheckID: "alias-local", Name: "alias local", AliasService: "web1"},
		{CheckID: "alias-node", Name: "alias node", AliasService: "web1", AliasNode: "node1"},
	}}
	for _, r := range []*api.AgentServiceRegistration{web, sidecar} {
		if err := c.Agent().ServiceRegister(r); err != nil {
			t.Fatal(err)
		}
	}
	// Registered critical with no output; computed at once after.
	testutil.Retry(t, 10*time.Second, func() error {
		hc := waitStatus(t, c, "node1", "alias-local", api.HealthCritical)
		if hc.Type != "alias" || !strings.HasPrefix(hc.Output, `Aliased check "Service 'web' check" failing`) {
			return fmt.Errorf("alias of a critical service: %+v", hc)
		}
		return nil
	})
	if err := c.Agent().UpdateTTL("web-ttl", "up", api.HealthPassing); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"alias-local", "alias-node"} {
		if hc := waitStatus(t, c, "node1", id, api.HealthPassing); hc.Output != "All checks passing." {
			t.Fatalf("%s: %q", id, hc.Output)
		}
	}
	if err := c.Agent().UpdateTTL("web-ttl", "slow", api.HealthWarning); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, c, "node1", "alias-local", api.HealthWarning)
	waitStatus(t, c, "node1", "alias-node", api.HealthWarning)
	if err := c.Agent().ServiceDeregister("web1"); err != nil {
		t.Fatal(err)
	}
	testutil.Retry(t, 10*time.Second, func() error {
		if hc := waitStatus(t, c, "node1", "alias-local", api.HealthCritical); hc.Output != "Service web1 could not be found on node " {
			return fmt.Errorf("alias of a gone service: %q", hc.Output)
		}
		return nil
	})
}

// Bad check definitions answer 400 (500 for a Docker check without an
// engine) and register nothing.
func TestChecks_BadDefinitions(t *testing.T) {
	a := testagent.Start(t, testagent.Options{Mutate: func(c *agent.Config) { c.EnableScriptChecks = true }})
	for _, tc := range []struct {
		body string
		code int
		msg  string
	}{
		{`{"Name":"x","TTL":"10s","Interval":"10s","HTTP":"http://x"}`, 400, "Interval and TTL cannot both be specified"},
		{`{"Name":"x","AliasService":"web","Interval":"10s"}`, 400, "Invalid check: Interval cannot be set for Alias checks"},
		{`{"Name":"x","GRPC":"127.0.0.1:1"}`, 400, "Invalid check: Interval must be > 0 for Script, HTTP, H2PING, TCP, UDP or OSService checks"},
		{`{"Name":"x","TTL":"-1s"}`, 400, "Invalid check: TTL must be > 0 for TTL checks"},
		{`{"Name":"x","H2PING":"127.0.0.1:1","Interval":"bogus"}`, 400, "Invalid check Interval"},
		{`{"Name":"x","TCP":"127.0.0.1:1","Interval":"1s","FailuresBeforeCritical":-1}`, 400, "must be >= 0"},
		{`{"Name":"x","DockerContainerID":"abc","Interval":"1s"}`, 400, "Invalid check: TTL must be > 0 for TTL checks"},
		{`{"Name":"x"}`, 400, "Invalid check: TTL must be > 0 for TTL checks"},
		{`{"Name":"x","TCP":"127.0.0.1:1","Interval":"1s","FailuresBeforeWarning":2}`, 400, "Invalid check: FailuresBeforeWarning can't be higher than FailuresBeforeCritical"},
		{`{"Name":"x","TTL":"1s","OutputMaxSize":-4}`, 400, "Invalid check: MaxOutputMaxSize must be positive"},
		{`{"Name":"x","DockerContainerID":"abc","Args":["/x"],"Interval":"1s"}`, 500, "no Docker engine client"},
	} {
		req, _ := http.NewRequest(http.MethodPut, "http://"+a.HTTPAddr()+"/v1/agent/check/register", strings.NewReader(tc.body))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.code || !strings.Contains(string(b), tc.msg) {
			t.Errorf("%s: %d %q, want %d containing %q", tc.body, resp.StatusCode, b, tc.code, tc.msg)
		}
	}
	checks, err := a.Client(t).Agent().Checks()
	if err != nil || len(checks) != 0 {
		t.Fatalf("bad definitions registered %v (%v)", checks, err)
	}
}

// An output-only change waits out check_update_interval; a status change
// is written at once.
func TestChecks_CheckUpdateInterval(t *testing.T) {
	a := testagent.Start(t, testagent.Options{Mutate: func(c *agent.Config) { c.CheckUpdateInterval = 6 * time.Second }})
	c := a.Client(t)
	if err := c.Agent().CheckRegister(&api.AgentCheckRegistration{ID: "t", Name: "t",
		AgentServiceCheck: api.AgentServiceCheck{TTL: "10m"}}); err != nil {
		t.Fatal(err)
	}
	if err := c.Agent().UpdateTTL("t", "one", api.HealthPassing); err != nil {
		t.Fatal(err)
	}
	if hc, err := checkStatus(c, "node1", "t"); err != nil || hc.Status != api.HealthPassing || hc.Output != "one" {
		t.Fatalf("a status change was not written at once: %+v %v", hc, err)
	}
	start := time.Now()
	if err := c.Agent().UpdateTTL("t", "two", api.HealthPassing); err != nil {
		t.Fatal(err)
	}
	local, err := c.Agent().Checks()
	if err != nil || local["t"].Output != "two" {
		t.Fatalf("the agent's own view lags: %+v %v", local["t"], err)
	}
	// The deferral is at least half the interval (3 s): well past this read.
	if hc, err := checkStatus(c, "node1", "t"); err != nil || hc.Output != "one" {
		t.Fatalf("an output-only change was written at once: %+v %v", hc, err)
	}
	testutil.Retry(t, 15*time.Second, func() error {
		hc, err := checkStatus(c, "node1", "t")
		if err != nil {
			return err
		}
		if hc.Output != "two" {
			return fmt.Errorf("catalog output %q", hc.Output)
		}
		return nil
	})
	if waited := time.Since(start); waited < 3*time.Second {
		t.Fatalf("written after %v, before half the interval", waited)
	}
}

// TTL updates keep 4 KiB with Consul's note, and snake_case definitions
// register as Consul's agent endpoint takes them.
func TestChecks_TTLOutputCapAndSnakeCase(t *testing.T) {
	a := testagent.Start(t, testagent.Options{})
	c := a.Client(t)
	req, _ := http.NewRequest(http.MethodPut, "http://"+a.HTTPAddr()+"/v1/agent/check/register",
		strings.NewReader(`{"name":"big","check_id":"big","ttl":"10m","deregister_critical_service_after":"90m","status":"passing"}`))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("snake_case register: %d", resp.StatusCode)
	}
	out := strings.Repeat("x", 5000)
	if err := c.Agent().UpdateTTL("big", out, api.HealthPassing); err != nil {
		t.Fatal(err)
	}
	hc, err := checkStatus(c, "node1", "big")
	if err != nil {
		t.Fatal(err)
	}
	if want := out[:4096] + " ... (captured 4096 of 5000 bytes)"; hc.Output != want || hc.Definition.DeregisterCriticalServiceAfter != api.ReadableDuration(90*time.Minute) {
		t.Fatalf("output tail %q, deregister after %v", hc.Output[4090:], hc.Definition.DeregisterCriticalServiceAfter)
	}
}

// FailuresBeforeWarning / FailuresBeforeCritical through a real agent: a
// passing HTTP check whose target starts failing goes warning first, then
// critical.
func TestChecks_FailureThresholds(t *testing.T) {
	a := testagent.Start(t, testagent.Options{})
	c := a.Client(t)
	srv, healthy := flipServer(t)
	reg := &api.AgentServiceRegistration{ID: "th1", Name: "th", Check: &api.AgentServiceCheck{
		CheckID: "th", HTTP: srv.URL, Interval: "1s", FailuresBeforeWarning: 1, FailuresBeforeCritical: 4}}
	if err := c.Agent().ServiceRegister(reg); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, c, "node1", "th", api.HealthPassing)
	healthy.Store(false)
	hc := waitStatus(t, c, "node1", "th", api.HealthWarning)
	if !strings.Contains(hc.Output, "500 Internal Server Error") {
		t.Fatalf("warning output %q", hc.Output)
	}
	waitStatus(t, c, "node1", "th", api.HealthCritical)
}

// On a client agent (no state of its own) check results, maintenance and
// a remote alias go through the servers: the server's DNS follows.
func TestChecks_ClientAgent(t *testing.T) {
	servers := testagent.StartCluster(t, 1)
	cl := testagent.StartClient(t, "client1", "127.0.0.21", servers[0])
	c := cl.Client(t)
	srv, healthy := flipServer(t)
	reg := &api.AgentServiceRegistration{ID: "web1", Name: "web", Port: 80, Checks: api.AgentServiceChecks{
		{CheckID: "http", HTTP: srv.URL, Interval: "200ms"},
	}}
	alias := &api.AgentServiceRegistration{ID: "edge1", Name: "edge", Port: 81, Checks: api.AgentServiceChecks{
		{CheckID: "edge-alias", AliasService: "web1", AliasNode: "client1"},
	}}
	for _, r := range []*api.AgentServiceRegistration{reg, alias} {
		if err := c.Agent().ServiceRegister(r); err != nil {
			t.Fatal(err)
		}
	}
	sc := servers[0].Client(t)
	answers := func(name string, want int) {
		t.Helper()
		testutil.Retry(t, 10*time.Second, func() error {
			if n := len(testutil.DNSQuery(t, servers[0].DNSAddr(), name, dns.TypeA).Answer); n != want {
				return fmt.Errorf("%s: %d A records on the server, want %d", name, n, want)
			}
			return nil
		})
	}
	waitStatus(t, sc, "client1", "http", api.HealthPassing)
	waitStatus(t, sc, "client1", "edge-alias", api.HealthPassing)
	answers("web.service.consul", 1)
	answers("edge.service.consul", 1)
	healthy.Store(false)
	waitStatus(t, sc, "client1", "http", api.HealthCritical)
	waitStatus(t, sc, "client1", "edge-alias", api.HealthCritical)
	answers("web.service.consul", 0)
	answers("edge.service.consul", 0)
	healthy.Store(true)
	answers("web.service.consul", 1)
	if err := c.Agent().EnableNodeMaintenance("drain"); err != nil {
		t.Fatal(err)
	}
	answers("web.service.consul", 0)
	if err := c.Agent().DisableNodeMaintenance(); err != nil {
		t.Fatal(err)
	}
	answers("web.service.consul", 1)
}
