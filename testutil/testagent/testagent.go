// Package testagent starts real minconsul agents inside the test process:
// every port is bound on 127.0.0.1:0 (or the address a test chooses, port
// 0) and read back, logs go to t.Log, and the agent stops when the test
// ends.
package testagent

import (
	"context"
	"testing"
	"time"

	"github.com/minconsul/minconsul/agent"
	"github.com/minconsul/minconsul/testutil"
)

// Options adjusts the agent a test starts.
type Options struct {
	NodeName string
	DataDir  string // empty: in-memory (-dev)
	Mutate   func(*agent.Config)
}

// Agent is a running in-process agent.
type Agent struct {
	*agent.Agent
	Config *agent.Config
}

// DefaultConfig is a -dev style config on loopback with port 0 everywhere.
func DefaultConfig(name string) *agent.Config {
	return &agent.Config{
		NodeName: name, Datacenter: "dc1", Domain: "consul.", Dev: true, Server: true, Bootstrap: true,
		BindAddr: "127.0.0.1", AdvertiseAddr: "127.0.0.1",
		HTTPAddr: "127.0.0.1:0", DNSAddr: "127.0.0.1:0",
		SerfLANPort: 0, RaftMultiplier: 1, UIEnabled: true,
		DNS: agent.DNSConfig{AllowStale: true, UDPAnswerLimit: 3, RecursorTimeout: 2 * time.Second},
	}
}

// Start starts an agent, waits until it leads and is in the catalog, and
// stops it when the test ends.
func Start(t testing.TB, opts Options) *Agent {
	t.Helper()
	a := StartNoWait(t, opts)
	a.WaitReady(t)
	return a
}

// WaitReady waits until the cluster has a leader and this agent's node is
// in the catalog with a passing serfHealth.
func (a *Agent) WaitReady(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := a.WaitForLeader(ctx); err != nil {
		t.Fatalf("%s: wait for leader: %v", a.NodeName(), err)
	}
}

// StartNoWait starts an agent without waiting for a leader (cluster
// members that must first find each other).
func StartNoWait(t testing.TB, opts Options) *Agent {
	t.Helper()
	name := opts.NodeName
	if name == "" {
		name = "node1"
	}
	cfg := DefaultConfig(name)
	if opts.DataDir != "" {
		cfg.Dev, cfg.DataDir = false, opts.DataDir
	}
	if opts.Mutate != nil {
		opts.Mutate(cfg)
	}
	a, err := agent.New(cfg, testutil.Logger(t, name))
	if err != nil {
		t.Fatalf("new agent: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := a.Start(ctx); err != nil {
		t.Fatalf("start agent: %v", err)
	}
	t.Cleanup(func() { _ = a.Shutdown() })
	return &Agent{Agent: a, Config: cfg}
}
