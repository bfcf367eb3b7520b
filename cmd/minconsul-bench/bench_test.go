package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/miekg/dns"

	"github.com/minconsul/minconsul/testutil"
)

func TestMain(m *testing.M) {
	RunChildIfRequested() // BlockingWake re-runs this binary for its client side
	os.Exit(m.Run())
}

// benchConcurrency is the number of client goroutines RunParallel uses,
// matching the command's default of 16.
const benchConcurrency = 16

func setParallel(b *testing.B) {
	b.SetParallelism((benchConcurrency + runtime.GOMAXPROCS(0) - 1) / runtime.GOMAXPROCS(0))
}

func benchKVGet(b *testing.B, bare bool) {
	t, err := SetupKVGet(context.Background(), Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer t.Close()
	url := t.AgentURL
	if bare {
		url = t.BareURL
	}
	client := NewHTTPClient(benchConcurrency)
	defer client.CloseIdleConnections()
	setParallel(b)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		op := HTTPGetOp(context.Background(), client, url)
		for pb.Next() {
			if err := op(); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

func BenchmarkKVGet_HTTP(b *testing.B)         { benchKVGet(b, false) }
func BenchmarkKVGet_BareBaseline(b *testing.B) { benchKVGet(b, true) }

func BenchmarkKVPut_Disk(b *testing.B) {
	a, err := StartAgent(context.Background(), DiskConfig("bench-put", b.TempDir()), hclog.NewNullLogger())
	if err != nil {
		b.Fatal(err)
	}
	defer a.Shutdown()
	base := "http://" + a.HTTPAddr()
	for _, c := range []int{1, 16, 64} {
		b.Run(fmt.Sprintf("clients=%d", c), func(b *testing.B) {
			client := NewHTTPClient(c)
			defer client.CloseIdleConnections()
			var (
				next atomic.Int64
				wg   sync.WaitGroup
			)
			b.ResetTimer()
			start := time.Now()
			for w := 0; w < c; w++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					op := HTTPPutOp(context.Background(), client, fmt.Sprintf("%s/v1/kv/bench/put/%d", base, w))
					for next.Add(1) <= int64(b.N) {
						if err := op(); err != nil {
							b.Error(err)
							return
						}
					}
				}()
			}
			wg.Wait()
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "ops/s")
		})
	}
}

func benchDNS(b *testing.B, bare bool) {
	t, err := SetupDNS(context.Background(), Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer t.Close()
	addr := t.AgentAddr
	if bare {
		addr = t.BareAddr
	}
	var seed atomic.Int32
	setParallel(b)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		c, err := NewDNSClient(addr, SRVName, dns.TypeSRV, uint16(seed.Add(1)))
		if err != nil {
			b.Error(err)
			return
		}
		defer c.Close()
		for pb.Next() {
			if err := c.Do(); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

func BenchmarkDNS_SRV(b *testing.B)          { benchDNS(b, false) }
func BenchmarkDNS_BareBaseline(b *testing.B) { benchDNS(b, true) }

var wake struct {
	once   sync.Once
	st     WakeStats // cold
	steady WakeStats
	err    error
}

// BenchmarkBlockingWake10k is one measurement whatever b.N is: the first
// call measures, later calls (larger b.N) report the same figures.
func BenchmarkBlockingWake10k(b *testing.B) {
	wake.once.Do(func() {
		var sts []WakeStats
		_, sts, wake.err = BlockingWake(context.Background(), Options{Watchers: 10000})
		if wake.err == nil {
			wake.st, wake.steady = sts[0], sts[1]
		}
	})
	if wake.err != nil {
		b.Fatal(wake.err)
	}
	b.ReportMetric(0, "ns/op")
	b.ReportMetric(float64(wake.st.Last)/1e6, "last-ms")
	b.ReportMetric(float64(wake.st.Median)/1e6, "median-ms")
	b.ReportMetric(float64(wake.steady.Last)/1e6, "steady-last-ms")
	b.ReportMetric(float64(wake.st.Watchers), "watchers")
}

// TestBenchkit_Smoke runs every measurement tiny so CI exercises the code;
// it checks the figures are sane, not that targets are met.
func TestBenchkit_Smoke(t *testing.T) {
	if testing.Short() {
		t.Skip("starts several agents and builds the binary")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	bin, err := testutil.BuildBinary(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	o := Options{
		Binary: bin, ClusterClients: []int{4}, FastGossipOnly: true,
		Duration: 200 * time.Millisecond, Warmup: 50 * time.Millisecond, Concurrency: 4,
		PutClients: []int{1, 4}, Watchers: 100, Runs: 1, Idle: 100 * time.Millisecond,
		TempDir: t.TempDir(), Logger: hclog.New(&hclog.LoggerOptions{Level: hclog.Warn, Output: testutil.LogWriter(t)}),
	}
	positive := func(t *testing.T, rs ...Result) {
		t.Helper()
		for _, r := range rs {
			t.Log(r)
			if !(r.Figure > 0) {
				t.Errorf("%s: figure %v", r.Name, r.Figure)
			}
			if r.Baseline != 0 && !(r.Ratio > 0) {
				t.Errorf("%s: ratio %v", r.Name, r.Ratio)
			}
		}
	}
	t.Run("kv-get", func(t *testing.T) {
		r, err := KVGet(ctx, o)
		if err != nil {
			t.Fatal(err)
		}
		if !(r.Baseline > 0) {
			t.Errorf("no baseline: %v", r)
		}
		positive(t, r)
	})
	t.Run("kv-put", func(t *testing.T) {
		rs, rates, err := KVPutDisk(ctx, o)
		if err != nil {
			t.Fatal(err)
		}
		if len(rates) != 2 {
			t.Errorf("rates: %v", rates)
		}
		positive(t, rs...)
	})
	t.Run("dns", func(t *testing.T) {
		r, err := DNSSRV(ctx, o)
		if err != nil {
			t.Fatal(err)
		}
		if !(r.Baseline > 0) {
			t.Errorf("no baseline: %v", r)
		}
		positive(t, r)
	})
	t.Run("blocking-wake", func(t *testing.T) {
		rs, sts, err := BlockingWake(ctx, o)
		if err != nil {
			t.Fatal(err)
		}
		if len(sts) != 2 {
			t.Fatalf("want cold and steady stats, got %d", len(sts))
		}
		for _, st := range sts {
			if st.Watchers != 100 || st.Last < st.First {
				t.Errorf("stats: %+v", st)
			}
		}
		for _, r := range rs {
			if !(r.Baseline > 0) {
				t.Errorf("no bare baseline: %+v", r)
			}
		}
		positive(t, rs...)
	})
	t.Run("idle-rss", func(t *testing.T) {
		rs, err := IdleRSS(ctx, o)
		if err != nil {
			t.Fatal(err)
		}
		positive(t, rs...)
	})
	// Process clusters mostly wait on election and gossip timers: run them
	// side by side (port 0 everywhere, so sharing the IPs is fine).
	t.Run("clusters", func(t *testing.T) {
		t.Run("cluster-throughput", func(t *testing.T) {
			t.Parallel()
			rs, err := ClusterThroughput(ctx, o)
			if err != nil {
				t.Fatal(err)
			}
			if len(rs) != 3 {
				t.Fatalf("want put vs etcd, put vs 1 node, get vs etcd; got %v", rs)
			}
			if _, err := exec.LookPath("etcd"); err == nil {
				for _, r := range rs {
					if strings.Contains(r.Name, "etcd") && !(r.Baseline > 0) {
						t.Errorf("etcd installed but no etcd baseline: %v", r)
					}
				}
			} else {
				t.Log("etcd not installed: etcd baselines skipped")
			}
			positive(t, rs...)
		})
		t.Run("failover", func(t *testing.T) {
			t.Parallel()
			rs, err := Failover(ctx, o)
			if err != nil {
				t.Fatal(err)
			}
			positive(t, rs...)
		})
		t.Run("dns-removal", func(t *testing.T) {
			t.Parallel()
			rs, err := DNSRemoval(ctx, o)
			if err != nil {
				t.Fatal(err)
			}
			if len(rs) != 1 {
				t.Fatalf("want the fast-gossip row only: %v", rs)
			}
			positive(t, rs...)
		})
	})
}
