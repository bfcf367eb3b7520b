package httpapi

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"
	"github.com/hashicorp/go-hclog"

	"github.com/minconsul/minconsul/backend"
	"github.com/minconsul/minconsul/raftstore"
	"github.com/minconsul/minconsul/structs"
	"github.com/minconsul/minconsul/testutil"
	"github.com/minconsul/minconsul/ui"
)

// The real backend satisfies httpapi's interface.
var _ Backend = (*backend.Backend)(nil)

func testLogger(t testing.TB) hclog.Logger { return testutil.Logger(t, "test") }

// newStore starts an in-memory single-node raftstore and waits for it to lead.
func newStore(t testing.TB) *raftstore.Store {
	t.Helper()
	st, err := raftstore.New(raftstore.Config{Dev: true, NodeID: "11111111-2222-3333-4444-555555555555", NodeName: "node1"}, testLogger(t).Named("raft"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := st.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Shutdown() })
	if err := st.WaitForLeader(ctx); err != nil {
		t.Fatal(err)
	}
	return st
}

type testEnv struct {
	t      testing.TB
	store  *raftstore.Store
	back   *backend.Backend
	agent  *fakeAgent
	srv    *Server
	http   *httptest.Server
	client *api.Client
}

// newEnv serves the API of a lone server (a backend that runs everything
// on its own in-memory store) with a fake local agent.
func newEnv(t testing.TB) *testEnv {
	t.Helper()
	st := newStore(t)
	back := newBackend(t, st)
	ag := newFakeAgent(st)
	srv := New(Config{Datacenter: "dc1", NodeName: "node1", UIEnabled: true, UI: ui.New()}, back, ag, testLogger(t).Named("http"))
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	cfg := api.DefaultConfig()
	cfg.Address = strings.TrimPrefix(hs.URL, "http://")
	client, err := api.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &testEnv{t: t, store: st, back: back, agent: ag, srv: srv, http: hs, client: client}
}

// newBackend is the backend of a lone server on st.
func newBackend(t testing.TB, st *raftstore.Store) *backend.Backend {
	b := backend.New(backend.Config{Store: st, Logger: testLogger(t).Named("backend")})
	t.Cleanup(b.Close)
	return b
}

// waitParked waits until n blocking queries are parked: their read ran with
// the watches set and found nothing newer than the client's index, so any
// later write must wake them rather than be seen by that first read.
func (e *testEnv) waitParked(t testing.TB, n int) {
	t.Helper()
	testutil.Retry(t, 10*time.Second, func() error {
		if got := e.store.BlockingQueries(); got != n {
			return fmt.Errorf("%d blocking queries parked, want %d", got, n)
		}
		return nil
	})
}

// do sends one raw request and returns status, headers and body.
func (e *testEnv) do(method, path, body string) (int, http.Header, string) {
	e.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, e.http.URL+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, string(b)
}

// httpCase is one row of an HTTP table test. want is a substring of the
// body ("" = don't check), or with exact the whole body.
type httpCase struct {
	name   string
	method string
	path   string
	body   string
	status int
	want   string
	exact  bool
}

func (e *testEnv) run(t *testing.T, cases []httpCase) {
	t.Helper()
	for _, tc := range cases {
		status, _, body := e.do(tc.method, tc.path, tc.body)
		if status != tc.status {
			t.Errorf("%s: %s %s: status %d, want %d (body %q)", tc.name, tc.method, tc.path, status, tc.status, body)
			continue
		}
		if tc.exact && body != tc.want {
			t.Errorf("%s: %s %s: body %q, want %q", tc.name, tc.method, tc.path, body, tc.want)
		} else if !tc.exact && tc.want != "" && !strings.Contains(body, tc.want) {
			t.Errorf("%s: %s %s: body %q, want it to contain %q", tc.name, tc.method, tc.path, body, tc.want)
		}
	}
}

// fakeAgent is a tiny local agent for the /v1/agent/* tests: it keeps
// services and checks in maps and writes them to the catalog through the
// real store.
type fakeAgent struct {
	store *raftstore.Store

	mu       sync.Mutex
	services map[string]*structs.AgentService
	checks   map[string]*structs.HealthCheck
	joined   []string
	forced   []string
	left     bool
	reloads  int
}

func newFakeAgent(st *raftstore.Store) *fakeAgent {
	return &fakeAgent{store: st, services: map[string]*structs.AgentService{}, checks: map[string]*structs.HealthCheck{}}
}

func (a *fakeAgent) Self() map[string]any {
	return map[string]any{
		"Config": map[string]any{"Datacenter": "dc1", "NodeName": "node1", "Server": true},
		"Member": structs.AgentMember{Name: "node1", Addr: "127.0.0.1", Port: 8301, Status: 1},
		"Meta":   map[string]string{},
	}
}

func (a *fakeAgent) Members() []structs.AgentMember {
	return []structs.AgentMember{{Name: "node1", Addr: "127.0.0.1", Port: 8301, Status: 1, Tags: map[string]string{"role": "consul"}}}
}

func (a *fakeAgent) Services() map[string]*structs.AgentService {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := map[string]*structs.AgentService{}
	for k, v := range a.services {
		c := *v
		out[k] = &c
	}
	return out
}

func (a *fakeAgent) Service(id string) (*structs.AgentService, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	svc, ok := a.services[id]
	if !ok {
		return nil, structs.NotFound(fmt.Sprintf("unknown service ID: %s", id))
	}
	c := *svc
	return &c, nil
}

func (a *fakeAgent) sync(ctx context.Context) error {
	a.mu.Lock()
	req := &structs.RegisterRequest{Datacenter: "dc1", Node: "node1", Address: "127.0.0.1"}
	var svcs []*structs.NodeService
	for _, s := range a.services {
		svcs = append(svcs, &structs.NodeService{ID: s.ID, Service: s.Service, Tags: s.Tags, Port: s.Port, Address: s.Address, Meta: s.Meta, Weights: s.Weights})
	}
	var checks structs.HealthChecks
	for _, c := range a.checks {
		cc := *c
		checks = append(checks, &cc)
	}
	a.mu.Unlock()
	if _, _, err := a.store.Apply(ctx, structs.Command{Type: structs.CatalogRegister, Register: req}); err != nil {
		return err
	}
	for _, s := range svcs {
		r := &structs.RegisterRequest{Datacenter: "dc1", Node: "node1", Address: "127.0.0.1", Service: s}
		if _, _, err := a.store.Apply(ctx, structs.Command{Type: structs.CatalogRegister, Register: r}); err != nil {
			return err
		}
	}
	if len(checks) > 0 {
		r := &structs.RegisterRequest{Datacenter: "dc1", Node: "node1", Address: "127.0.0.1", Checks: checks}
		if _, _, err := a.store.Apply(ctx, structs.Command{Type: structs.CatalogRegister, Register: r}); err != nil {
			return err
		}
	}
	return nil
}

func (a *fakeAgent) ServiceRegister(ctx context.Context, def *structs.ServiceDefinition, replace bool) error {
	if def.Name == "" {
		return structs.BadRequest("Missing service name")
	}
	id := def.ID
	if id == "" {
		id = def.Name
	}
	w := structs.Weights{Passing: 1, Warning: 1}
	if def.Weights != nil {
		w = *def.Weights
	}
	a.mu.Lock()
	a.services[id] = &structs.AgentService{ID: id, Service: def.Name, Tags: def.Tags, Meta: def.Meta, Port: def.Port, Address: def.Address, Weights: w, Datacenter: "dc1"}
	if def.Check != nil && def.Check.TTL != "" {
		a.checks["service:"+id] = &structs.HealthCheck{Node: "node1", CheckID: "service:" + id, Name: "Service '" + def.Name + "' check", Status: structs.HealthCritical, ServiceID: id, ServiceName: def.Name, Type: "ttl"}
	}
	a.mu.Unlock()
	return a.sync(ctx)
}

func (a *fakeAgent) ServiceDeregister(ctx context.Context, id string) error {
	a.mu.Lock()
	_, ok := a.services[id]
	delete(a.services, id)
	a.mu.Unlock()
	if !ok {
		return structs.NotFound(fmt.Sprintf("Unknown service ID %q. Ensure that the service ID is passed, not the service name.", id))
	}
	_, _, err := a.store.Apply(ctx, structs.Command{Type: structs.CatalogDeregister, Deregister: &structs.DeregisterRequest{Datacenter: "dc1", Node: "node1", ServiceID: id}})
	return err
}

func (a *fakeAgent) Checks() map[string]*structs.HealthCheck {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := map[string]*structs.HealthCheck{}
	for k, v := range a.checks {
		c := *v
		out[k] = &c
	}
	return out
}

func (a *fakeAgent) CheckRegister(ctx context.Context, def *structs.CheckDefinition) error {
	if def.Name == "" {
		return structs.BadRequest("Missing check name")
	}
	id := def.CheckID
	if id == "" {
		id = def.ID
	}
	if id == "" {
		id = def.Name
	}
	status := def.Status
	if status == "" {
		status = structs.HealthCritical
	}
	a.mu.Lock()
	a.checks[id] = &structs.HealthCheck{Node: "node1", CheckID: id, Name: def.Name, Status: status, ServiceID: def.ServiceID, Type: "ttl"}
	a.mu.Unlock()
	return a.sync(ctx)
}

func (a *fakeAgent) CheckDeregister(ctx context.Context, id string) error {
	a.mu.Lock()
	_, ok := a.checks[id]
	delete(a.checks, id)
	a.mu.Unlock()
	if !ok {
		return structs.NotFound(fmt.Sprintf("Unknown check %q", id))
	}
	_, _, err := a.store.Apply(ctx, structs.Command{Type: structs.CatalogDeregister, Deregister: &structs.DeregisterRequest{Datacenter: "dc1", Node: "node1", CheckID: id}})
	return err
}

func (a *fakeAgent) CheckUpdateTTL(ctx context.Context, id, status, output string) error {
	a.mu.Lock()
	c, ok := a.checks[id]
	if ok {
		c.Status, c.Output = status, output
	}
	a.mu.Unlock()
	if !ok {
		return structs.NotFound(fmt.Sprintf("CheckID %q does not have associated TTL", id))
	}
	return a.sync(ctx)
}

func (a *fakeAgent) Join(ctx context.Context, addr string, wan bool) (int, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.joined = append(a.joined, fmt.Sprintf("%s wan=%v", addr, wan))
	return 1, nil
}

func (a *fakeAgent) Leave(ctx context.Context) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.left = true
	return nil
}

func (a *fakeAgent) ForceLeave(ctx context.Context, node string) error {
	if node == "" {
		return structs.BadRequest("Missing node name")
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.forced = append(a.forced, node)
	return nil
}

func (a *fakeAgent) Reload(ctx context.Context) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.reloads++
	return nil
}

// bytesOf is a helper for big bodies.
func bytesOf(n int) string { return string(bytes.Repeat([]byte("x"), n)) }

func contextWithTimeout(d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), d)
}

func mustReq(t testing.TB, method, url string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	return req
}

func newRecorder() *httptest.ResponseRecorder { return httptest.NewRecorder() }
