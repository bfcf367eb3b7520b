// Package httpapi serves Consul's /v1 HTTP API: it parses a request into a
// typed request, calls the backend (reads, writes, operator calls) or the
// local agent, and encodes the answer with Consul's JSON shape, status
// codes and X-Consul-* headers.
//
// It owns parsing, validation before writes, error-to-status mapping
// (errors.go, also for errors another server answered) and encoding. It
// never touches Raft or the state store, and never knows where a request
// runs: the backend contract decides (locally, on the leader, on a server
// for a client agent) and runs blocking queries; local services and
// checks go through Agent.
package httpapi

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/minconsul/minconsul/backend"
	"github.com/minconsul/minconsul/internal/telemetry"
	"github.com/minconsul/minconsul/structs"
)

// Config is httpapi's slice of the agent configuration.
type Config struct {
	Datacenter string
	NodeName   string
	UIEnabled  bool
	// UI serves everything under /ui/ when UIEnabled (package ui's handler);
	// nil serves nothing there.
	UI http.Handler
	// KVMaxValueSize is limits.kv_max_value_size; 0 is Consul's 512 KiB.
	KVMaxValueSize int
	// Keyring serves /v1/operator/keyring when set (the local agent's).
	Keyring Keyring
	// TxnMaxReqLen bounds a /v1/txn body (txn_max_req_len; at least the
	// KV value limit, as Consul); 0 is the default, 512 KiB.
	TxnMaxReqLen int64
	// Events serves /v1/event/* (nil: no such routes).
	Events Events
	// Metrics is the agent's metrics: every request's consul.api.http
	// timer goes to it, /v1/agent/metrics shows it (nil: nothing recorded,
	// an empty summary).
	Metrics *telemetry.Metrics
	// Logs is the agent's logger, for /v1/agent/monitor (nil: no route).
	Logs LogSinks
	// Coordinates is the agent's view of network coordinates, for
	// /v1/coordinate/* and ?near (nil: no such routes, ?near ignored).
	Coordinates CoordinateAgent
}

// Backend is what httpapi reads, writes and operates through: all of the
// backend contract.
type Backend interface {
	backend.Contract
}

// Agent is the local agent behind /v1/agent/*.
type Agent interface {
	Self() map[string]any
	Members() []structs.AgentMember
	Services() map[string]*structs.AgentService
	Service(id string) (*structs.AgentService, error)
	ServiceRegister(ctx context.Context, def *structs.ServiceDefinition, replaceExistingChecks bool) error
	ServiceDeregister(ctx context.Context, id string) error
	Checks() map[string]*structs.HealthCheck
	CheckRegister(ctx context.Context, def *structs.CheckDefinition) error
	CheckDeregister(ctx context.Context, id string) error
	CheckUpdateTTL(ctx context.Context, id, status, output string) error
	Join(ctx context.Context, addr string, wan bool) (int, error)
	Leave(ctx context.Context) error
	// ForceLeave moves a failed member to left (the local gossip does it).
	ForceLeave(ctx context.Context, node string) error
	Reload(ctx context.Context) error
	maintenanceAgent
}

// Server is the HTTP API.
type Server struct {
	cfg     Config
	backend Backend
	agent   Agent
	logger  hclog.Logger

	exact    map[string]*route
	prefixes []*route // longest prefix first

	// baseCtx is every request's parent; Shutdown cancels it so that
	// blocking queries answer at once instead of holding Shutdown.
	baseCtx context.Context
	cancel  context.CancelFunc

	mu  sync.Mutex
	srv *http.Server
}

// handlerFunc handles one endpoint; it either writes the answer itself and
// returns nil, or returns an error for writeError.
type handlerFunc func(s *Server, q *request) error

type route struct {
	pattern string
	methods []string
	allow   string // "OPTIONS,GET,..." as Consul sends it
	fn      handlerFunc
	// dc: the endpoint takes ?dc (everything but the local agent's own
	// endpoints and the datacenter list), so ?dc naming another datacenter
	// is refused before the handler runs.
	dc bool
	// timers: the consul.api.http timer of each method (same index as
	// methods), made once with its labels.
	timers []*telemetry.Timer
}

// New builds the API server. agent may be nil (no /v1/agent/* routes).
func New(cfg Config, backend Backend, agent Agent, logger hclog.Logger) *Server {
	if logger == nil {
		logger = hclog.NewNullLogger()
	}
	s := &Server{cfg: cfg, backend: backend, agent: agent, logger: logger, exact: map[string]*route{}}
	s.baseCtx, s.cancel = context.WithCancel(context.Background())
	s.routes()
	return s
}

func (s *Server) handle(pattern string, fn handlerFunc, methods ...string) {
	rt := &route{pattern: pattern, methods: methods, fn: fn,
		allow: strings.Join(append([]string{"OPTIONS"}, methods...), ","),
		dc:    !strings.HasPrefix(pattern, "/v1/agent/") && pattern != "/v1/catalog/datacenters" && pattern != "/v1/coordinate/datacenters"}
	// Consul's path label: the route pattern, slashes as underscores.
	path := strings.ReplaceAll(strings.TrimPrefix(pattern, "/"), "/", "_")
	for _, m := range methods {
		rt.timers = append(rt.timers, s.cfg.Metrics.Timer(keyHTTP, telemetry.Label{Name: "method", Value: m}, telemetry.Label{Name: "path", Value: path}))
	}
	if strings.HasSuffix(pattern, "/") {
		s.prefixes = append(s.prefixes, rt)
		return
	}
	s.exact[pattern] = rt
}

func (s *Server) routes() {
	const get, put, del = http.MethodGet, http.MethodPut, http.MethodDelete
	s.handle("/v1/kv/", (*Server).kvEndpoint, get, put, del)

	s.handle("/v1/catalog/register", (*Server).catalogRegister, put)
	s.handle("/v1/catalog/deregister", (*Server).catalogDeregister, put)
	s.handle("/v1/catalog/datacenters", (*Server).catalogDatacenters, get)
	s.handle("/v1/catalog/nodes", (*Server).catalogNodes, get)
	s.handle("/v1/catalog/services", (*Server).catalogServices, get)
	s.handle("/v1/catalog/service/", (*Server).catalogServiceNodes, get)
	s.handle("/v1/catalog/node/", (*Server).catalogNodeServices, get)
	s.handle("/v1/catalog/node-services/", (*Server).catalogNodeServiceList, get)

	s.handle("/v1/health/service/", (*Server).healthServiceNodes, get)
	s.handle("/v1/health/checks/", (*Server).healthServiceChecks, get)
	s.handle("/v1/health/node/", (*Server).healthNodeChecks, get)
	s.handle("/v1/health/state/", (*Server).healthChecksInState, get)

	s.handle("/v1/internal/ui/services", (*Server).uiServices, get)
	s.handle("/v1/internal/ui/nodes", (*Server).uiNodes, get)
	s.handle("/v1/internal/ui/node/", (*Server).uiNodeInfo, get)

	s.handle("/v1/status/leader", (*Server).statusLeader, get)
	s.handle("/v1/status/peers", (*Server).statusPeers, get)
	s.handle("/v1/operator/raft/configuration", (*Server).operatorRaftConfiguration, get)
	s.handle("/v1/operator/raft/peer", (*Server).operatorRaftPeer, del)
	s.handle("/v1/operator/usage", (*Server).operatorUsage, get)
	s.handle("/v1/snapshot", (*Server).snapshotEndpoint, get, put)
	if s.cfg.Keyring != nil {
		s.handle("/v1/operator/keyring", (*Server).operatorKeyring, get, http.MethodPost, put, del)
	}

	s.handle("/v1/session/create", (*Server).sessionCreate, put)
	s.handle("/v1/session/destroy/", (*Server).sessionDestroy, put)
	s.handle("/v1/session/renew/", (*Server).sessionRenew, put)
	s.handle("/v1/session/info/", (*Server).sessionInfo, get)
	s.handle("/v1/session/node/", (*Server).sessionNode, get)
	s.handle("/v1/session/list", (*Server).sessionList, get)
	s.handle("/v1/txn", (*Server).txn, put)

	if s.agent != nil {
		s.handle("/v1/agent/self", (*Server).agentSelf, get)
		s.handle("/v1/agent/members", (*Server).agentMembers, get)
		s.handle("/v1/agent/services", (*Server).agentServices, get)
		s.handle("/v1/agent/service/", (*Server).agentService, get)
		s.handle("/v1/agent/service/register", (*Server).agentServiceRegister, put)
		s.handle("/v1/agent/service/deregister/", (*Server).agentServiceDeregister, put)
		s.handle("/v1/agent/checks", (*Server).agentChecks, get)
		s.handle("/v1/agent/check/register", (*Server).agentCheckRegister, put)
		s.handle("/v1/agent/check/deregister/", (*Server).agentCheckDeregister, put)
		s.handle("/v1/agent/check/pass/", (*Server).agentCheckPass, put)
		s.handle("/v1/agent/check/warn/", (*Server).agentCheckWarn, put)
		s.handle("/v1/agent/check/fail/", (*Server).agentCheckFail, put)
		s.handle("/v1/agent/check/update/", (*Server).agentCheckUpdate, put)
		s.handle("/v1/agent/join/", (*Server).agentJoin, put)
		s.handle("/v1/agent/leave", (*Server).agentLeave, put)
		s.handle("/v1/agent/force-leave/", (*Server).agentForceLeave, put)
		s.handle("/v1/agent/reload", (*Server).agentReload, put)
		s.handle("/v1/agent/maintenance", (*Server).agentNodeMaintenance, put)
		s.handle("/v1/agent/service/maintenance/", (*Server).agentServiceMaintenance, put)
		s.handle("/v1/agent/health/service/id/", (*Server).agentHealthServiceByID, get)
		s.handle("/v1/agent/health/service/name/", (*Server).agentHealthServiceByName, get)
	}

	if s.cfg.Events != nil {
		s.handle("/v1/event/fire/", (*Server).eventFire, put)
		s.handle("/v1/event/list", (*Server).eventList, get)
	}
	s.handle("/v1/agent/metrics", (*Server).agentMetrics, get)
	s.handle("/v1/operator/raft/transfer-leader", (*Server).operatorRaftTransferLeader, http.MethodPost, put)
	if s.cfg.Coordinates != nil {
		s.handle("/v1/coordinate/datacenters", (*Server).coordinateDatacenters, get)
		s.handle("/v1/coordinate/nodes", (*Server).coordinateNodes, get)
		s.handle("/v1/coordinate/node/", (*Server).coordinateNode, get)
		s.handle("/v1/coordinate/update", (*Server).coordinateUpdate, put)
	}
	if s.cfg.Logs != nil {
		s.handle("/v1/agent/monitor", (*Server).agentMonitor, get)
	}

	// Longest prefix first, so /v1/agent/service/deregister/ wins over
	// /v1/agent/service/ (ServeMux's rule).
	for i := 1; i < len(s.prefixes); i++ {
		for j := i; j > 0 && len(s.prefixes[j].pattern) > len(s.prefixes[j-1].pattern); j-- {
			s.prefixes[j], s.prefixes[j-1] = s.prefixes[j-1], s.prefixes[j]
		}
	}
}

// Handler returns the API's http.Handler.
func (s *Server) Handler() http.Handler { return s }

func (s *Server) lookup(path string) (*route, string) {
	if rt, ok := s.exact[path]; ok {
		return rt, ""
	}
	for _, rt := range s.prefixes {
		if strings.HasPrefix(path, rt.pattern) {
			return rt, path[len(rt.pattern):]
		}
	}
	return nil, ""
}

// ServeHTTP routes without regexps or allocation: an exact-path map, then
// a short list of prefixes.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	path := r.URL.Path
	rt, tail := s.lookup(path)
	if rt == nil {
		s.serveOther(w, r)
		return
	}
	if r.Method == http.MethodOptions {
		w.Header().Set("Allow", rt.allow)
		w.WriteHeader(http.StatusOK)
		return
	}
	mi := -1
	for i, m := range rt.methods {
		if m == r.Method {
			mi = i
			break
		}
	}
	q := &request{w: w, r: r, tail: tail}
	if mi < 0 {
		s.writeError(w, r, &methodNotAllowedError{method: r.Method, allow: rt.allow})
		return
	}
	if r.URL.RawQuery != "" {
		vals, err := url.ParseQuery(r.URL.RawQuery)
		if err != nil {
			s.writeError(w, r, badRequest("Failed to decode query: "+err.Error()))
			return
		}
		q.query = vals
		if err := s.checkDC(rt, q); err != nil {
			s.writeError(w, r, err)
			return
		}
	}
	if tm := rt.timers[mi]; tm != nil {
		defer tm.Since(time.Now())
	}
	if s.logger.IsDebug() {
		start := time.Now()
		defer func() {
			s.logger.Debug("request", "method", r.Method, "url", r.URL.String(), "from", r.RemoteAddr, "duration", time.Since(start))
		}()
	}
	if err := rt.fn(s, q); err != nil {
		s.writeError(w, r, err)
	}
}

func (s *Server) isPrefixRoute(p string) bool {
	for _, rt := range s.prefixes {
		if rt.pattern == p {
			return true
		}
	}
	return false
}

// serveOther answers everything outside /v1: the index, the UI and 404s.
func (s *Server) serveOther(w http.ResponseWriter, r *http.Request) {
	ui := s.cfg.UIEnabled && s.cfg.UI != nil
	switch {
	case r.URL.Path == "/":
		if !s.cfg.UIEnabled {
			_, _ = w.Write([]byte("Consul Agent: UI disabled. To enable, set ui_config.enabled=true in the agent configuration and restart."))
			return
		}
		http.Redirect(w, r, "/ui/", http.StatusMovedPermanently)
	case s.isPrefixRoute(r.URL.Path + "/"):
		// ServeMux's rule for subtree patterns: /v1/kv -> /v1/kv/.
		u := *r.URL
		u.Path += "/"
		http.Redirect(w, r, u.String(), http.StatusMovedPermanently)
	case ui && r.URL.Path == "/ui":
		u := *r.URL
		u.Path = "/ui/"
		http.Redirect(w, r, u.String(), http.StatusMovedPermanently)
	case ui && strings.HasPrefix(r.URL.Path, "/ui/"):
		s.cfg.UI.ServeHTTP(w, r)
	default:
		w.Header().Set(hdrContentType, "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusNotFound)
		if strings.Contains(r.URL.Path, "/v1/") {
			_, _ = w.Write([]byte("Invalid URL path: not a recognized HTTP API endpoint\n"))
		} else {
			_, _ = w.Write([]byte("Invalid URL path: if attempting to use the HTTP API, ensure the path starts with '/v1/'\n"))
		}
	}
}

// Serve answers on ln until Shutdown.
func (s *Server) Serve(ln net.Listener) error {
	s.mu.Lock()
	if s.srv == nil {
		s.srv = &http.Server{
			Handler:           s,
			ReadHeaderTimeout: 30 * time.Second,
			BaseContext:       func(net.Listener) context.Context { return s.baseCtx },
			ErrorLog:          s.logger.StandardLogger(&hclog.StandardLoggerOptions{InferLevels: true}),
		}
	}
	srv := s.srv
	s.mu.Unlock()
	s.logger.Info("HTTP API listening", "address", ln.Addr().String())
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// Shutdown stops accepting and waits for in-flight requests (blocking
// queries end with their request contexts) until ctx ends. Idempotent.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	if s.srv == nil {
		// Never served: make a later Serve return at once.
		s.srv = &http.Server{Handler: s}
	}
	srv := s.srv
	s.mu.Unlock()
	s.cancel()
	return srv.Shutdown(ctx)
}
