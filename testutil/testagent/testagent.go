// Package testagent starts real minconsul agents inside the test process:
// every port is bound on 127.0.0.1:0 (or the address a test chooses, port
// 0) and read back, logs go to t.Log, and the agent stops when the test
// ends.
package testagent

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"
	"github.com/hashicorp/go-hclog"
	"github.com/minconsul/minconsul/agent"
	"github.com/minconsul/minconsul/cmd/minconsul/wire"
	"github.com/minconsul/minconsul/testutil"
)

// Options adjusts the agent a test starts.
type Options struct {
	NodeName string
	DataDir  string // empty: in-memory (-dev)
	// LogLevel of the agent's logger (to t.Log); zero: debug. Benchmarks
	// pass hclog.Info, the level a production agent runs at.
	LogLevel hclog.Level
	Mutate   func(*agent.Config)
}

// Agent is a running in-process agent, wired as the binary wires it.
type Agent struct {
	*wire.Agent
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
	level := opts.LogLevel
	if level == hclog.NoLevel {
		level = hclog.Debug
	}
	a, err := wire.New(cfg, testutil.LoggerAt(t, name, level))
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

// Client is an official API client talking to this agent.
func (a *Agent) Client(t testing.TB) *api.Client {
	t.Helper()
	c, err := api.NewClient(&api.Config{Address: a.HTTPAddr()})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// StartCluster starts n servers with -bootstrap-expect n, each on its own
// 127.0.0.x address with fast gossip, joined through the first one's
// gossip address, and waits until every one is ready.
func StartCluster(t testing.TB, n int) []*Agent {
	t.Helper()
	return StartClusterWith(t, n, Options{})
}

// StartClusterWith is StartCluster with base's LogLevel and Mutate (run
// after the cluster settings) applied to every server.
func StartClusterWith(t testing.TB, n int, base Options) []*Agent {
	t.Helper()
	var agents []*Agent
	var join string
	for i := 0; i < n; i++ {
		ip := fmt.Sprintf("127.0.0.%d", 10+i)
		a := StartNoWait(t, Options{NodeName: fmt.Sprintf("s%d", i+1), DataDir: t.TempDir(), LogLevel: base.LogLevel,
			Mutate: func(c *agent.Config) {
				c.Bootstrap, c.BootstrapExpect = false, n
				c.BindAddr, c.AdvertiseAddr = ip, ip
				c.HTTPAddr, c.DNSAddr = ip+":0", ip+":0"
				c.GossipFast = true
				if join != "" {
					c.RetryJoin = []string{join}
				}
				if base.Mutate != nil {
					base.Mutate(c)
				}
			}})
		if join == "" {
			join = a.SerfAddr()
		}
		agents = append(agents, a)
	}
	for _, a := range agents {
		a.WaitReady(t)
	}
	return agents
}

// Leader waits until one of agents leads and returns it.
func Leader(t testing.TB, agents []*Agent) *Agent {
	t.Helper()
	var leader *Agent
	testutil.Retry(t, 15*time.Second, func() error {
		for _, a := range agents {
			if a.IsLeader() {
				leader = a
				return nil
			}
		}
		return fmt.Errorf("no leader")
	})
	return leader
}

// Followers is every agent but leader.
func Followers(agents []*Agent, leader *Agent) []*Agent {
	var out []*Agent
	for _, a := range agents {
		if a != leader {
			out = append(out, a)
		}
	}
	return out
}

// StartClient starts a client agent (no Raft, no state) named name on ip,
// joined to server's gossip, and waits until it is ready.
func StartClient(t testing.TB, name, ip string, server *Agent) *Agent {
	t.Helper()
	a := StartNoWait(t, Options{NodeName: name, Mutate: func(c *agent.Config) {
		c.Dev, c.DataDir = false, t.TempDir()
		c.Server, c.Bootstrap = false, false
		c.BindAddr, c.AdvertiseAddr = ip, ip
		c.HTTPAddr, c.DNSAddr = ip+":0", ip+":0"
		c.GossipFast = true
		c.StartJoin = []string{server.SerfAddr()}
	}})
	a.WaitReady(t)
	return a
}
