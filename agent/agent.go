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
	"github.com/hashicorp/go-memdb"
	"github.com/hashicorp/serf/serf"
	"github.com/minconsul/minconsul/dnsserver"
	"github.com/minconsul/minconsul/httpapi"
	"github.com/minconsul/minconsul/internal/groupcommit"
	"github.com/minconsul/minconsul/internal/rpc"
	"github.com/minconsul/minconsul/raftstore"
	"github.com/minconsul/minconsul/structs"
	"github.com/minconsul/minconsul/ui"
)

// Agent is one running minconsul agent.
type Agent struct {
	cfg    *Config
	logger hclog.Logger

	store     *raftstore.Store // servers only
	remote    *rpc.Remote      // client agents only
	backend   backend          // what sync and DNS read and write through
	serf      *serf.Serf
	mux       *rpc.Mux
	rpcServer *rpc.Server
	rpcClient *rpc.Client
	forward   *groupcommit.Group[structs.Command, forwarded] // a follower's KV writes to the leader
	http      *httpapi.Server
	dns       *dnsserver.Server

	httpLn  net.Listener
	dnsUDP  net.PacketConn
	dnsTCP  net.Listener
	started time.Time

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

// backend is the catalog as the agent's sync and DNS see it: a server's
// local store (writes forwarded to the leader) or, on a client agent, RPCs
// to the servers.
type backend interface {
	Apply(ctx context.Context, cmd structs.Command) (uint64, any, error)
	Query(ctx context.Context, opts structs.QueryOptions, meta *structs.QueryMeta, fn func(ws memdb.WatchSet) (uint64, error)) error
	GetNode(ws memdb.WatchSet, name string) (uint64, *structs.Node, error)
	Nodes(ws memdb.WatchSet) (uint64, structs.Nodes, error)
	Services(ws memdb.WatchSet) (uint64, map[string][]string, error)
	NodeChecks(ws memdb.WatchSet, node string) (uint64, structs.HealthChecks, error)
	NodeServices(ws memdb.WatchSet, node string) (uint64, *structs.NodeServices, error)
	CheckServiceNodes(ws memdb.WatchSet, service string, tags []string) (uint64, structs.CheckServiceNodes, error)
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
// Raft store, gossip, HTTP, DNS, then joins, leader duties and the catalog
// sync in the background.
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
	a.rpcClient = rpc.NewClient()
	if a.cfg.Server {
		if err := a.startServer(ctx); err != nil {
			return err
		}
		a.backend = &serverBackend{a: a}
		if !a.lone() {
			a.forward = a.newForwardGroup()
		}
	} else {
		a.remote = rpc.NewRemote(a.rpcClient, a.ServerAddrs)
		a.backend = a.remote
	}
	if !a.lone() {
		if err := a.setupSerf(); err != nil {
			return err
		}
	}
	if a.httpLn, err = net.Listen("tcp", a.cfg.HTTPAddr); err != nil {
		return fmt.Errorf("http listen %s: %w", a.cfg.HTTPAddr, err)
	}
	if err := a.listenDNS(); err != nil {
		return err
	}

	var httpStore httpapi.Store = a.remote
	if a.store != nil {
		httpStore = serverStore{Store: a.store, backend: a.backend.(*serverBackend)}
	}
	a.http = httpapi.New(httpapi.Config{Datacenter: a.cfg.Datacenter, NodeName: a.cfg.NodeName, UIEnabled: a.cfg.UIEnabled, UI: ui.New()},
		httpStore, a, a.logger.Named("http"))
	handler := rpc.NewForwarder(a.http.Handler(), a, a.rpcClient, a.logger.Named("forward"))
	a.http.SetHandler(handler)
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		if err := a.http.Serve(a.httpLn); err != nil {
			a.logger.Error("http server stopped", "error", err)
		}
	}()
	if a.mux != nil {
		a.rpcServer = rpc.NewServer(a.store, handler, a.rpcClient, a.logger.Named("rpc"))
		a.wg.Add(1)
		go func() {
			defer a.wg.Done()
			if err := a.rpcServer.Serve(a.mux.RPCListener()); err != nil {
				a.logger.Error("rpc server stopped", "error", err)
			}
		}()
	}
	var dnsStore dnsserver.Store = a.backend
	if a.store != nil {
		dnsStore = a.store
	}
	if a.dns, err = dnsserver.New(a.dnsConfig(), dnsStore, a.logger.Named("dns")); err != nil {
		return err
	}
	if err := a.dns.Start(a.dnsUDP, a.dnsTCP); err != nil {
		return fmt.Errorf("dns: %w", err)
	}
	a.logger.Info("agent started", "node", a.cfg.NodeName, "datacenter", a.cfg.Datacenter,
		"http", a.HTTPAddr(), "dns", a.DNSAddr(), "server_port", a.serverPort(), "serf_lan", a.SerfAddr(), "server", a.cfg.Server)

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

// listenDNS binds UDP and TCP on one port. With port 0 the kernel picks
// the UDP port, which may be taken on TCP: then try another.
func (a *Agent) listenDNS() error {
	_, port, _ := net.SplitHostPort(a.cfg.DNSAddr)
	for attempt := 0; ; attempt++ {
		pc, err := net.ListenPacket("udp", a.cfg.DNSAddr)
		if err != nil {
			return fmt.Errorf("dns udp listen %s: %w", a.cfg.DNSAddr, err)
		}
		ln, err := net.Listen("tcp", pc.LocalAddr().String())
		if err == nil {
			a.dnsUDP, a.dnsTCP = pc, ln
			return nil
		}
		pc.Close()
		if port != "0" || attempt == 20 {
			return fmt.Errorf("dns tcp listen %s: %w", pc.LocalAddr(), err)
		}
	}
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
		rcfg.AdvertiseAddr = net.JoinHostPort(a.cfg.AdvertiseAddr, strconv.Itoa(a.serverPort()))
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

// apply writes through the leader: locally when this server leads,
// otherwise forwarded over RPC.
func (a *Agent) apply(ctx context.Context, cmd structs.Command) error {
	_, _, err := a.backend.Apply(ctx, cmd)
	return err
}

// serverBackend reads a server's local state and forwards writes.
type serverBackend struct{ a *Agent }

func (b *serverBackend) Apply(ctx context.Context, cmd structs.Command) (uint64, any, error) {
	st := b.a.store
	if st.IsLeader() || b.a.lone() {
		idx, res, err := st.Apply(ctx, cmd)
		if !errors.Is(err, structs.ErrNotLeader) {
			return idx, res, err
		}
	}
	// Without a known leader a write waits on its own (bounded by the
	// leader wait), not behind batches that wait for the same leader.
	if cmd.Type.IsKV() && b.a.forward != nil && st.Leader() != "" {
		o, err := b.a.forward.Do(cmd)
		if errors.Is(err, groupcommit.ErrClosed) {
			err = structs.ErrShutdown
		}
		return o.idx, o.val, err
	}
	return b.a.rpcClient.ApplyLeader(ctx, st.Leader, cmd, 1)
}

func (b *serverBackend) Query(ctx context.Context, opts structs.QueryOptions, meta *structs.QueryMeta, fn func(ws memdb.WatchSet) (uint64, error)) error {
	return b.a.store.Query(ctx, opts, meta, fn)
}
func (b *serverBackend) GetNode(ws memdb.WatchSet, name string) (uint64, *structs.Node, error) {
	return b.a.store.GetNode(ws, name)
}
func (b *serverBackend) Nodes(ws memdb.WatchSet) (uint64, structs.Nodes, error) {
	return b.a.store.Nodes(ws)
}
func (b *serverBackend) Services(ws memdb.WatchSet) (uint64, map[string][]string, error) {
	return b.a.store.Services(ws)
}
func (b *serverBackend) NodeChecks(ws memdb.WatchSet, node string) (uint64, structs.HealthChecks, error) {
	return b.a.store.NodeChecks(ws, node)
}
func (b *serverBackend) NodeServices(ws memdb.WatchSet, node string) (uint64, *structs.NodeServices, error) {
	return b.a.store.NodeServices(ws, node)
}
func (b *serverBackend) CheckServiceNodes(ws memdb.WatchSet, service string, tags []string) (uint64, structs.CheckServiceNodes, error) {
	return b.a.store.CheckServiceNodes(ws, service, tags)
}

func (a *Agent) dnsConfig() dnsserver.Config {
	d := a.cfg.DNS
	return dnsserver.Config{
		Domain: a.cfg.Domain, Datacenter: a.cfg.Datacenter, NodeName: a.cfg.NodeName,
		NodeTTL: d.NodeTTL, ServiceTTL: d.ServiceTTL, OnlyPassing: d.OnlyPassing, AllowStale: d.AllowStale,
		UDPAnswerLimit: d.UDPAnswerLimit, EnableTruncate: d.EnableTruncate,
		Recursors: d.Recursors, RecursorTimeout: d.RecursorTimeout,
	}
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

// HTTPAddr is the bound HTTP address (host:port).
func (a *Agent) HTTPAddr() string {
	if a.httpLn == nil {
		return ""
	}
	return a.httpLn.Addr().String()
}

// DNSAddr is the bound DNS address (host:port, UDP and TCP).
func (a *Agent) DNSAddr() string {
	if a.dnsUDP == nil {
		return ""
	}
	return a.dnsUDP.LocalAddr().String()
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
		if _, checks, err := a.backend.NodeChecks(nil, a.cfg.NodeName); err == nil {
			for _, c := range checks {
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
		if a.http != nil {
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
			if err := a.http.Shutdown(ctx); err != nil {
				a.logger.Debug("http shutdown", "error", err)
			}
			cancel()
		} else if a.httpLn != nil {
			a.httpLn.Close()
		}
		if a.dns != nil {
			a.dns.Shutdown()
		} else {
			if a.dnsUDP != nil {
				a.dnsUDP.Close()
			}
			if a.dnsTCP != nil {
				a.dnsTCP.Close()
			}
		}
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
		if a.forward != nil {
			a.forward.Close()
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
