package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime/pprof"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/minconsul/minconsul/agent"
	"github.com/minconsul/minconsul/cmd/minconsul/wire"
	"github.com/minconsul/minconsul/testutil/testagent"
)

// Options sizes the measurements. Zero fields take the defaults below.
type Options struct {
	Duration    time.Duration // measured load per side (default 2s; GET and DNS split it into 4 alternating rounds)
	Warmup      time.Duration // unmeasured load before each side (default 300ms)
	Concurrency int           // client goroutines for GET and DNS (default 16)
	PutClients  []int         // concurrent writers for the PUT series (default 1,16,64)
	// ClusterClients are the client counts of the 3-node throughput
	// measurements against etcd (default 16,64).
	ClusterClients []int
	Watchers       int           // parked blocking queries (default 10000)
	Runs           int           // process starts for the startup median (default 5)
	Idle           time.Duration // idle time before reading RSS (default 2s)
	Binary         string        // minconsul binary; built from the repo when empty
	// FastGossipOnly skips DNSRemoval's run with memberlist's default
	// timings (several seconds; tests).
	FastGossipOnly bool
	TempDir        string       // parent of data dirs (default os.TempDir())
	Logger         hclog.Logger // agent logs (default: discarded)
	// ProfileDir, when set, receives a CPU profile of each measured window
	// (kv-get.pprof and dns.pprof also hold the bare rounds: look under
	// httpapi / dnsserver; kv-put-cN.pprof, blocking-wake.pprof).
	ProfileDir string
}

// profile starts a CPU profile named name in o.ProfileDir (if set) and
// returns the function that stops it.
func (o Options) profile(name string) func() {
	if o.ProfileDir == "" {
		return func() {}
	}
	f, err := os.Create(filepath.Join(o.ProfileDir, name+".pprof"))
	if err != nil {
		o.Logger.Error("cpu profile", "error", err)
		return func() {}
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		o.Logger.Error("cpu profile", "error", err)
		return func() {}
	}
	return func() { pprof.StopCPUProfile(); f.Close() }
}

func (o Options) withDefaults() Options {
	if o.Duration <= 0 {
		o.Duration = 2 * time.Second
	}
	if o.Warmup <= 0 {
		o.Warmup = 300 * time.Millisecond
	}
	if o.Concurrency <= 0 {
		o.Concurrency = 16
	}
	if len(o.PutClients) == 0 {
		o.PutClients = []int{1, 16, 64}
	}
	if len(o.ClusterClients) == 0 {
		o.ClusterClients = []int{16, 64}
	}
	if o.Watchers <= 0 {
		o.Watchers = 10000
	}
	if o.Runs <= 0 {
		o.Runs = 5
	}
	if o.Idle <= 0 {
		o.Idle = 2 * time.Second
	}
	if o.TempDir == "" {
		o.TempDir = os.TempDir()
	}
	if o.Logger == nil {
		o.Logger = hclog.NewNullLogger()
	}
	return o
}

// Result is one row of the report.
type Result struct {
	Name     string
	Figure   float64
	Unit     string
	Baseline float64 // 0 when the row has no baseline
	Ratio    float64 // Figure/Baseline (or as the row defines it); 0 when none
	Target   string  // human-readable target, e.g. "ratio >= 0.70"
	Pass     bool
	Note     string
}

// DevConfig is an in-memory (-dev) agent on loopback with port 0
// everywhere: the tests' own configuration.
func DevConfig(name string) *agent.Config { return testagent.DefaultConfig(name) }

// DiskConfig is a single bootstrapped server with its Raft log, stable
// store and snapshots in dataDir (real fsyncs) and Raft on 127.0.0.1:0.
func DiskConfig(name, dataDir string) *agent.Config {
	cfg := DevConfig(name)
	cfg.Dev, cfg.DataDir, cfg.ServerPort = false, dataDir, 0
	return cfg
}

// StartAgent starts an agent and waits until it leads and is in the catalog.
func StartAgent(ctx context.Context, cfg *agent.Config, logger hclog.Logger) (*wire.Agent, error) {
	if logger == nil {
		logger = hclog.NewNullLogger()
	}
	a, err := wire.New(cfg, logger)
	if err != nil {
		return nil, fmt.Errorf("new agent: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := a.Start(ctx); err != nil {
		return nil, fmt.Errorf("start agent: %w", err)
	}
	if err := a.WaitForLeader(ctx); err != nil {
		_ = a.Shutdown()
		return nil, fmt.Errorf("wait for leader: %w", err)
	}
	return a, nil
}

// NewHTTPClient is the keep-alive client every HTTP measurement uses: one
// idle connection kept per concurrent goroutine, no proxy, no compression.
func NewHTTPClient(conc int) *http.Client {
	return &http.Client{Transport: &http.Transport{
		Proxy:               nil,
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        conc * 2,
		MaxIdleConnsPerHost: conc,
		MaxConnsPerHost:     0,
		DisableCompression:  true,
		IdleConnTimeout:     90 * time.Second,
	}}
}

func ratio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}
