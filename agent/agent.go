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
	"github.com/minconsul/minconsul/dnsserver"
	"github.com/minconsul/minconsul/httpapi"
	"github.com/minconsul/minconsul/raftstore"
)

// Agent is one running minconsul agent.
type Agent struct {
	cfg    *Config
	logger hclog.Logger

	store *raftstore.Store
	http  *httpapi.Server
	dns   *dnsserver.Server

	httpLn  net.Listener
	dnsUDP  net.PacketConn
	dnsTCP  net.Listener
	started time.Time

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu            sync.Mutex
	services      map[string]*localService
	checks        map[string]*localCheck
	deregServices map[string]bool // removed locally, still to remove from the catalog
	deregChecks   map[string]bool
	dirty         bool
	syncCh        chan struct{}
	syncMu        sync.Mutex  // one sync at a time
	synced        atomic.Bool // the first sync after start has happened

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
	if !cfg.Server {
		return nil, errors.New("client agents (-server=false) need the cluster support of a later release; run as a server")
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
		deregServices: map[string]bool{}, deregChecks: map[string]bool{},
		syncCh: make(chan struct{}, 1), shutdownCh: make(chan struct{}),
	}, nil
}

// Start brings the parts up in order: node ID, Raft store, listeners, HTTP,
// DNS, then (in the background) the catalog sync once a leader exists.
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
	raftBind := ""
	if !a.cfg.Dev || a.cfg.ServerPort != 0 {
		raftBind = net.JoinHostPort(a.cfg.BindAddr, fmt.Sprint(a.cfg.ServerPort))
	}
	raftAdv := ""
	if raftBind != "" && a.cfg.AdvertiseAddr != "" && a.cfg.ServerPort != 0 {
		raftAdv = net.JoinHostPort(a.cfg.AdvertiseAddr, fmt.Sprint(a.cfg.ServerPort))
	}
	a.store, err = raftstore.New(raftstore.Config{
		NodeID: a.cfg.NodeID, NodeName: a.cfg.NodeName, DataDir: a.cfg.DataDir, Dev: a.cfg.Dev,
		BindAddr: raftBind, AdvertiseAddr: raftAdv,
		Bootstrap: a.cfg.Bootstrap || a.cfg.BootstrapExpect == 1, RaftMultiplier: a.cfg.RaftMultiplier,
	}, a.logger.Named("raft"))
	if err != nil {
		return err
	}
	if err := a.store.Start(ctx); err != nil {
		return err
	}
	if a.httpLn, err = net.Listen("tcp", a.cfg.HTTPAddr); err != nil {
		return fmt.Errorf("http listen %s: %w", a.cfg.HTTPAddr, err)
	}
	if a.dnsUDP, err = net.ListenPacket("udp", a.cfg.DNSAddr); err != nil {
		return fmt.Errorf("dns udp listen %s: %w", a.cfg.DNSAddr, err)
	}
	// TCP on the same port as UDP (matters when the port was 0).
	dnsTCPAddr := a.dnsUDP.LocalAddr().String()
	if a.dnsTCP, err = net.Listen("tcp", dnsTCPAddr); err != nil {
		return fmt.Errorf("dns tcp listen %s: %w", dnsTCPAddr, err)
	}

	a.http = httpapi.New(httpapi.Config{Datacenter: a.cfg.Datacenter, NodeName: a.cfg.NodeName, UIEnabled: a.cfg.UIEnabled},
		a.store, a, a.logger.Named("http"))
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		if err := a.http.Serve(a.httpLn); err != nil {
			a.logger.Error("http server stopped", "error", err)
		}
	}()
	if a.dns, err = dnsserver.New(a.dnsConfig(), a.store, a.logger.Named("dns")); err != nil {
		return err
	}
	a.dns.Start(a.dnsUDP, a.dnsTCP)
	a.logger.Info("agent started", "node", a.cfg.NodeName, "datacenter", a.cfg.Datacenter,
		"http", a.HTTPAddr(), "dns", a.DNSAddr(), "raft", a.store.LocalAddr(), "server", a.cfg.Server)

	for _, def := range a.cfg.Services {
		if err := a.serviceRegister(ctx, def, false, true); err != nil {
			return fmt.Errorf("service %q from config: %w", def.Name, err)
		}
	}
	for _, def := range a.cfg.Checks {
		if err := a.checkRegister(ctx, def, true); err != nil {
			return fmt.Errorf("check %q from config: %w", def.Name, err)
		}
	}
	a.wg.Add(1)
	go a.syncLoop()
	return nil
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

// WaitForLeader blocks until the Raft store has a leader and this node is
// registered in the catalog.
func (a *Agent) WaitForLeader(ctx context.Context) error {
	if err := a.store.WaitForLeader(ctx); err != nil {
		return err
	}
	t := time.NewTicker(5 * time.Millisecond)
	defer t.Stop()
	for {
		if _, n, _ := a.store.GetNode(nil, a.cfg.NodeName); n != nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
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
		a.wg.Wait()
		if a.store != nil {
			a.shutdownErr = a.store.Shutdown()
		}
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
