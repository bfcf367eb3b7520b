// Package agent owns a minconsul agent's lifecycle: it brings up, in
// order, the node ID, the server port (Raft and RPC), the Raft store, the
// backend every read and write goes through, the agent's place in the
// cluster (agent/membership), its local services and checks (agent/local)
// and anti-entropy (agent/ae), and stops them in reverse. The HTTP API and
// DNS are wired to it by cmd/minconsul/wire; the agent never imports them.
// It never touches Raft directly: writes go through the backend.
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
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/minconsul/minconsul/agent/ae"
	"github.com/minconsul/minconsul/agent/local"
	"github.com/minconsul/minconsul/agent/membership"
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
	mux       *rpc.Mux         // the server port; nil on client and lone agents
	rpcServer *rpc.Server
	rpcClient *rpc.Client      // nil on a lone agent, which never forwards
	backend   *backend.Backend // where everything reads and writes
	members   *membership.Membership
	local     *local.State
	sync      *ae.StateSyncer
	events    eventRing

	started time.Time
	ctx     context.Context // the agent's lifetime: its loops end with it
	cancel  context.CancelFunc
	wg      sync.WaitGroup

	shutdownCh   chan struct{} // closed when /v1/agent/leave asks the process to stop
	leaveOnce    sync.Once
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
	return &Agent{cfg: cfg, logger: logger, shutdownCh: make(chan struct{})}, nil
}

// lone reports a -dev agent that will never cluster: it keeps Raft on the
// in-memory transport and skips the server port and gossip.
func (a *Agent) lone() bool {
	return a.cfg.Dev && a.cfg.ServerPort == 0 && len(a.cfg.StartJoin) == 0 && len(a.cfg.RetryJoin) == 0
}

// Start brings the parts up in order: node ID, server port and Raft store
// (servers), backend, local services and checks, gossip and joins, leader
// duties and anti-entropy in the background.
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
	a.backend = backend.New(backend.Config{Store: a.store, Client: a.rpcClient,
		Servers: func() []string { return a.members.ServerAddrs() }, Logger: a.logger.Named("backend"), Metrics: a.cfg.Metrics})
	a.members = membership.New(a.membershipConfig(), membership.Deps{Store: a.store, Catalog: a.backend,
		PeersAt: a.backend.PeersAt, ServerJoined: func() { a.sync.TriggerFull() }, UserEvent: a.onUserEvent}, a.logger)
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
	a.local = local.New(local.Config{NodeName: a.cfg.NodeName, NodeID: a.cfg.NodeID, Datacenter: a.cfg.Datacenter,
		AdvertiseAddr: a.cfg.AdvertiseAddr, DataDir: a.cfg.DataDir, EnableScriptChecks: a.cfg.EnableScriptChecks,
		Version: a.version(), NodeMeta: a.cfg.NodeMeta,
		CheckUpdateInterval: a.cfg.CheckUpdateInterval, Docker: a.cfg.DockerExec,
		ReapInterval: a.cfg.CheckReapInterval, DeregisterMin: a.cfg.CheckDeregisterMin,
		MinInterval: a.cfg.CheckMinInterval, OutputMaxSize: a.cfg.CheckOutputMaxSize},
		a.backend, func() { a.sync.TriggerChanges() }, a.logger)
	a.sync = ae.New(a.local, ae.DefaultInterval, a.logger)
	for _, def := range a.cfg.Services {
		if err := a.local.AddService(def, false, true); err != nil {
			return fmt.Errorf("service %q from config: %w", def.Name, err)
		}
	}
	for _, def := range a.cfg.Checks {
		if err := a.local.AddCheck(def, true); err != nil {
			return fmt.Errorf("check %q from config: %w", def.Name, err)
		}
	}
	if err := a.local.LoadPersisted(); err != nil {
		return err
	}
	if err := a.members.Start(a.ctx, a.lone()); err != nil {
		return err
	}
	// A server syncs once there is a leader to write to; a client agent
	// retries until its servers answer.
	var ready func(context.Context) error
	if a.store != nil {
		ready = a.store.WaitForLeader
	}
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		a.sync.Run(a.ctx, ready)
	}()
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		a.coordinateLoop(a.ctx)
	}()
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		a.gaugeLoop(a.ctx)
	}()
	return nil
}

func (a *Agent) membershipConfig() membership.Config {
	c := a.cfg
	return membership.Config{
		NodeName: c.NodeName, NodeID: c.NodeID, Datacenter: c.Datacenter,
		BindAddr: c.BindAddr, AdvertiseAddr: c.AdvertiseAddr, SerfLANPort: c.SerfLANPort, DataDir: c.DataDir,
		Dev: c.Dev, Server: c.Server, Bootstrap: c.Bootstrap, BootstrapExpect: c.BootstrapExpect,
		ServerPort: a.ServerPort(), Build: a.version() + ":" + Revision,
		StartJoin: c.StartJoin, RetryJoin: c.RetryJoin, RetryInterval: c.RetryInterval,
		ReconnectTimeout: c.ReconnectTimeout, GossipFast: c.GossipFast, GossipLAN: c.GossipLAN,
		EncryptKey: c.EncryptKey, EncryptPlainIncoming: c.EncryptPlainIncoming, EncryptPlainOutgoing: c.EncryptPlainOutgoing,
	}
}

// startServer opens the server port (unless lone) and the Raft store.
func (a *Agent) startServer(ctx context.Context) error {
	rcfg := raftstore.Config{
		NodeID: a.cfg.NodeID, NodeName: a.cfg.NodeName, DataDir: a.cfg.DataDir, Dev: a.cfg.Dev,
		Bootstrap:      a.cfg.Bootstrap || a.cfg.BootstrapExpect == 1 || (a.cfg.Dev && a.cfg.BootstrapExpect == 0),
		RaftMultiplier: a.cfg.RaftMultiplier, Metrics: a.cfg.Metrics,
		NodeNameOf: func(id string) string { return a.members.NodeNameOf(id) },
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

// ServerPort is the bound server (Raft + RPC) port.
func (a *Agent) ServerPort() int {
	if a.mux != nil {
		return a.mux.Addr().(*net.TCPAddr).Port
	}
	return a.cfg.ServerPort
}

// SerfAddr is the gossip address (host:port) others join.
func (a *Agent) SerfAddr() string {
	if a.members == nil {
		return ""
	}
	return a.members.SerfAddr()
}

// Store exposes the Raft store (tests, benchmarks); nil on a client agent.
func (a *Agent) Store() *raftstore.Store { return a.store }

// Backend is where this agent reads and writes the replicated state.
func (a *Agent) Backend() *backend.Backend { return a.backend }

// NodeName is this agent's node name.
func (a *Agent) NodeName() string { return a.cfg.NodeName }

// Datacenter is this agent's datacenter.
func (a *Agent) Datacenter() string { return a.cfg.Datacenter }

// IsLeader reports whether this agent is the Raft leader.
func (a *Agent) IsLeader() bool { return a.store != nil && a.store.IsLeader() }

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
	req := &structs.NodeSpecificRequest{Node: a.cfg.NodeName, QueryOptions: structs.QueryOptions{Consistency: structs.ConsistencyStale}}
	for {
		if res, err := a.backend.NodeChecks(ctx, req); err == nil {
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

// Leave leaves the cluster gracefully (see membership.Leave) and then asks
// the process to stop (ShutdownCh).
func (a *Agent) Leave(ctx context.Context) error {
	err := a.members.Leave()
	a.leaveOnce.Do(func() { close(a.shutdownCh) })
	return err
}

// Shutdown stops everything in reverse order. Idempotent.
func (a *Agent) Shutdown() error {
	a.shutdownOnce.Do(func() {
		a.logger.Info("shutting down")
		if a.cancel != nil {
			a.cancel()
		}
		if a.local != nil {
			a.local.Close()
		}
		if a.rpcServer != nil {
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			_ = a.rpcServer.Shutdown(ctx)
			cancel()
		}
		if a.members != nil {
			a.members.Shutdown()
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
		if a.members != nil {
			a.members.Wait()
		}
		a.wg.Wait()
	})
	return a.shutdownErr
}
