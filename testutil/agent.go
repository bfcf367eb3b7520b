// Package testutil starts real minconsul agents for tests: every port is
// bound on 127.0.0.1:0 and read back, so tests never race for "free" ports.
package testutil

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/minconsul/minconsul/agent"
	"github.com/minconsul/minconsul/internal/testlog"
)

// Options adjusts the agent a test starts.
type Options struct {
	NodeName string
	DataDir  string // empty: in-memory (-dev)
	Mutate   func(*agent.Config)
}

// TestAgent is a running in-process agent.
type TestAgent struct {
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

// StartAgent starts an agent, waits until it leads and is in the catalog,
// and stops it when the test ends.
func StartAgent(t testing.TB, opts Options) *TestAgent {
	t.Helper()
	a := StartAgentNoWait(t, opts)
	a.WaitReady(t)
	return a
}

// WaitReady waits until the cluster has a leader and this agent's node is
// in the catalog with a passing serfHealth.
func (a *TestAgent) WaitReady(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := a.WaitForLeader(ctx); err != nil {
		t.Fatalf("%s: wait for leader: %v", a.NodeName(), err)
	}
}

// StartAgentNoWait starts an agent without waiting for a leader (cluster
// members that must first find each other).
func StartAgentNoWait(t testing.TB, opts Options) *TestAgent {
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
	a, err := agent.New(cfg, testlog.New(t, name))
	if err != nil {
		t.Fatalf("new agent: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := a.Start(ctx); err != nil {
		t.Fatalf("start agent: %v", err)
	}
	t.Cleanup(func() { _ = a.Shutdown() })
	return &TestAgent{Agent: a, Config: cfg}
}

// Retry calls f until it returns nil or the deadline passes.
func Retry(t testing.TB, timeout time.Duration, f func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var err error
	for {
		if err = f(); err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("condition not met within %s: %v", timeout, err)
		}
		time.Sleep(10 * time.Millisecond) // poll interval, bounded by the deadline above
	}
}

var (
	buildOnce sync.Once
	buildPath string
	buildErr  error
)

// Binary builds cmd/minconsul once per test process and returns its path.
func Binary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "minconsul-bin")
		if err != nil {
			buildErr = err
			return
		}
		buildPath = filepath.Join(dir, "minconsul")
		cmd := exec.Command("go", "build", "-o", buildPath, "./cmd/minconsul")
		cmd.Dir = RepoRoot()
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return buildPath
}

// RepoRoot is the module root (where go.mod lives).
func RepoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Dir(filepath.Dir(file))
}
