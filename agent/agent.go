// Package agent owns a minconsul agent's lifecycle and its local state: it
// starts the Raft store, the HTTP API and the DNS server in order, keeps the
// services and checks registered on this node, runs the checks, and syncs
// them into the replicated catalog. It never touches Raft directly: all
// writes go through raftstore.Store.Apply.
package agent

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/serf/serf"
	"github.com/minconsul/minconsul/backend"
	"github.com/minconsul/minconsul/internal/rpc"
	"github.com/minconsul/minconsul/raftstore"
	"github.com/minconsul/minconsul/structs"
)

// Agent is one running minconsul agent.
type Agent struct {
	cfg    *Config
	logger hclog.Logger

	store     *raftstore.Store // servers only
	backend   *backend.Backend // where everything reads and writes
	serf      *serf.Serf
	mux       *rpc.Mux
	rpcServer *rpc.Server
	rpcClient *rpc.Client
	started   time.Time

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	serfEvents   chan serf.Event
	serfStarted  time.Time
	reapMu       sync.Mutex
	reaped       map[string]string // serf-reaped member name -> node ID
	reconcileCh  chan struct{}
	bootstrapped atomic.Bool

	mu        sync.Mutex
	services  map[string]*localService
	checks    map[string]*localCheck
	syncCh    chan struct{}
	syncMu    sync.Mutex  // one sync at a time
	persistMu sync.Mutex  // persisted-file writes and removals (see persistIf); taken before mu
	synced    atomic.Bool // the first sync after start has happened

	shutdownCh   chan struct{} // closed when /v1/agent/leave asks the process to stop
	leaveOnce    sync.Once
	leaveErr     error
	shutdownOnce sync.Once
	shutdownErr  error
}

// New validates the configuration and builds an agent; Start runs it.
func New(cfg *Config, logger hclog.Logger) (*Agent, error) {
	if logger == nil {
		logger = hclog.NewNullLogger()
	}
	if cfg.NodeName == "" {
		return nil, errors.New("node name is required")
	}
	if cfg.DataDir == "" && !cfg.Dev {
		return nil, errors.New("data_dir is required (or run with -dev)")
	}
	if !cfg.Server && (cfg.Bootstrap || cfg.BootstrapExpect > 0) {
		return nil, errors.New("bootstrap and bootstrap_expect need server mode")
	}
	if cfg.Datacenter == "" {
		cfg.Datacenter = "dc1"
	}
	if cfg.Domain == "" {
		cfg.Domain = "consul."
	}
	return &Agent{
		cfg: cfg, logger: logger,
		services: map[string]*localService{}, checks: map[string]*localCheck{},
		syncCh: make(chan struct{}, 1), shutdownCh: make(chan struct{}),
		serfEvents: make(chan serf.Event, 256), reconcileCh: make(chan struct{}, 1), reaped: map[string]string{},
	}, nil
}

// lone reports a -dev agent that will never cluster: it keeps Raft on the
// in-memory transport and skips the server port.
func (a *Agent) lone() bool {
	return a.cfg.Dev && a.cfg.ServerPort == 0 && len(a.cfg.StartJoin) == 0 && len(a.cfg.RetryJoin) == 0
}

// Start brings the parts up in order: node ID, server port (Raft + RPC),
// Raft store and backend, gossip, local services and checks, then joins,
// leader duties and the catalog sync in the background. The HTTP API and
// DNS are the caller's (cmd/minconsul/wire).
func (a *Agent) Start(ctx context.Context) (err error) {
	a.started = time.Now()
	a.ctx, a.cancel = context.WithCancel(context.Background())
	defer func() {
		if err != nil {
			a.Shutdown()
		}
	}()
	if err := a.setupNodeID(); err != nil {
		return err
	}
	if !a.lone() {
		a.rpcClient = rpc.NewClient()
	}
	if a.cfg.Server {
		if err := a.startServer(ctx); err != nil {
			return err
		}
	}
	a.backend = backend.New(backend.Config{Store: a.store, Client: a.rpcClient, Servers: a.ServerAddrs,
		Logger: a.logger.Named("backend")})
	if !a.lone() {
		if err := a.setupSerf(); err != nil {
			return err
		}
	}
	if a.mux != nil {
		a.rpcServer = rpc.NewServer(a.backend, a.logger.Named("rpc"))
		a.wg.Add(1)
		go func() {
			defer a.wg.Done()
			if err := a.rpcServer.Serve(a.mux.RPCListener()); err != nil {
				a.logger.Error("rpc server stopped", "error", err)
			}
		}()
	}
	for _, def := range a.cfg.Services {
		if err := a.serviceRegister(ctx, def, false, true, false); err != nil {
			return fmt.Errorf("service %q from config: %w", def.Name, err)
		}
	}
	for _, def := range a.cfg.Checks {
		if err := a.checkRegister(ctx, def, true, false); err != nil {
			return fmt.Errorf("check %q from config: %w", def.Name, err)
		}
	}
	if err := a.loadPersisted(); err != nil {
		return err
	}
	if len(a.cfg.StartJoin) > 0 {
		if _, err := a.serf.Join(a.cfg.StartJoin, true); err != nil {
			return fmt.Errorf("join %v: %w", a.cfg.StartJoin, err)
		}
	}
	if len(a.cfg.RetryJoin) > 0 {
		a.wg.Add(1)
		go a.retryJoin(a.cfg.RetryJoin)
	}
	if a.store != nil {
		a.wg.Add(1)
		go a.leaderLoop()
	}
	a.wg.Add(1)
	go a.syncLoop()
	return nil
}

// startServer opens the server port (unless lone) and the Raft store.
func (a *Agent) startServer(ctx context.Context) error {
	rcfg := raftstore.Config{
		NodeID: a.cfg.NodeID, NodeName: a.cfg.NodeName, DataDir: a.cfg.DataDir, Dev: a.cfg.Dev,
		Bootstrap:      a.cfg.Bootstrap || a.cfg.BootstrapExpect == 1 || (a.cfg.Dev && a.cfg.BootstrapExpect == 0),
		RaftMultiplier: a.cfg.RaftMultiplier,
		NodeNameOf:     a.nodeNameOf,
	}
	if !a.lone() {
		ln, err := net.Listen("tcp", net.JoinHostPort(a.cfg.BindAddr, strconv.Itoa(a.cfg.ServerPort)))
		if err != nil {
			return fmt.Errorf("server port listen: %w", err)
		}
		a.mux = rpc.NewMux(ln, a.logger.Named("mux"))
		a.wg.Add(1)
		go func() {
			defer a.wg.Done()
			a.mux.Serve()
		}()
		rcfg.Listener = a.mux.RaftListener()
		rcfg.Dial = func(addr string, timeout time.Duration) (net.Conn, error) {
			return rpc.Dial(addr, rpc.ProtoRaft, timeout)
		}
		rcfg.AdvertiseAddr = net.JoinHostPort(a.cfg.AdvertiseAddr, strconv.Itoa(a.ServerPort()))
	}
	var err error
	if a.store, err = raftstore.New(rcfg, a.logger.Named("raft")); err != nil {
		return err
	}
	return a.store.Start(ctx)
}

// SerfAddr is the gossip address (host:port) others join.
func (a *Agent) SerfAddr() string {
	if a.serf == nil {
		return ""
	}
	n := a.serf.Memberlist().LocalNode()
	return net.JoinHostPort(n.Addr.String(), strconv.Itoa(int(n.Port)))
}

// apply writes through the backend: locally when this server leads,
// otherwise forwarded to the leader.
func (a *Agent) apply(ctx context.Context, cmd structs.Command) error {
	_, _, err := a.backend.Apply(ctx, cmd)
	return err
}

// stale is the query options of the agent's own reads: whichever server
// answers, from its own state (on a server, this one).
func stale() structs.QueryOptions {
	return structs.QueryOptions{Consistency: structs.ConsistencyStale}
}

// setupNodeID keeps the node's UUID stable across restarts (DataDir/node-id).
func (a *Agent) setupNodeID() error {
	if a.cfg.NodeID != "" {
		return nil
	}
	var path string
	if a.cfg.DataDir != "" {
		path = filepath.Join(a.cfg.DataDir, "node-id")
		if b, err := os.ReadFile(path); err == nil {
			a.cfg.NodeID = strings.TrimSpace(string(b))
			return nil
		}
	}
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return err
	}
	a.cfg.NodeID = fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
	if path != "" {
		if err := os.MkdirAll(a.cfg.DataDir, 0o755); err != nil {
			return fmt.Errorf("data dir: %w", err)
		}
		if err := os.WriteFile(path, []byte(a.cfg.NodeID), 0o600); err != nil {
			return fmt.Errorf("write node-id: %w", err)
		}
	}
	return nil
}

// Store exposes the Raft store (tests, benchmarks).
func (a *Agent) Store() *raftstore.Store { return a.store }

// NodeName is this agent's node name.
func (a *Agent) NodeName() string { return a.cfg.NodeName }

// Datacenter is this agent's datacenter.
func (a *Agent) Datacenter() string { return a.cfg.Datacenter }

// WaitForLeader blocks until the cluster has a leader and this node is in
// the catalog with a passing serfHealth check.
func (a *Agent) WaitForLeader(ctx context.Context) error {
	if a.store != nil {
		if err := a.store.WaitForLeader(ctx); err != nil {
			return err
		}
	}
	t := time.NewTicker(5 * time.Millisecond)
	defer t.Stop()
	for {
		if res, err := a.backend.NodeChecks(ctx, &structs.NodeSpecificRequest{Node: a.cfg.NodeName, QueryOptions: stale()}); err == nil {
			for _, c := range res.Value {
				if c.CheckID == structs.SerfCheckID && c.Status == structs.HealthPassing {
					return nil
				}
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for leader: %w", ctx.Err())
		case <-t.C:
		}
	}
}

// ShutdownCh is closed when a client asked the agent to leave.
func (a *Agent) ShutdownCh() <-chan struct{} { return a.shutdownCh }

// Shutdown stops everything in reverse order. Idempotent.
func (a *Agent) Shutdown() error {
	a.shutdownOnce.Do(func() {
		a.logger.Info("shutting down")
		if a.cancel != nil {
			a.cancel()
		}
		a.mu.Lock()
		for _, c := range a.checks {
			c.stop()
		}
		a.mu.Unlock()
		if a.rpcServer != nil {
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			_ = a.rpcServer.Shutdown(ctx)
			cancel()
		}
		if a.serf != nil {
			_ = a.serf.Shutdown()
		}
		if a.store != nil {
			a.shutdownErr = a.store.Shutdown()
		}
		if a.mux != nil {
			_ = a.mux.Close()
		}
		if a.backend != nil {
			a.backend.Close()
		}
		if a.rpcClient != nil {
			a.rpcClient.Close()
		}
		a.wg.Wait()
	})
	return a.shutdownErr
}

func splitPort(hostport string) (string, int, error) {
	host, p, err := net.SplitHostPort(hostport)
	if err != nil {
		return "", 0, err
	}
	n, err := strconv.Atoi(p)
	return host, n, err
}

// Backend is where this agent reads and writes the replicated state.
func (a *Agent) Backend() *backend.Backend { return a.backend }
