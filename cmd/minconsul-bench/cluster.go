package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/miekg/dns"
)

// Loopback addresses of the cluster measurements: every process gets its
// own IP, so ports can be 0 (minconsul) or etcd's standard ones.
var (
	ClusterIPs = []string{"127.0.0.11", "127.0.0.12", "127.0.0.13"}
	SingleIP   = "127.0.0.14"
	EtcdIPs    = []string{"127.0.0.21", "127.0.0.22", "127.0.0.23"}
)

// benchValue is the value every PUT writes (minconsul and etcd alike).
const benchValue = "value-0123456789-0123456789-0123456789-0123456789-0123456789"

// ClusterThroughput measures, with each of o.ClusterClients concurrent
// clients bound round-robin to the three nodes (so followers forward to
// the leader on both systems): PUT throughput of a 3-server minconsul
// cluster against a 3-member etcd 3.4 cluster and against a single
// minconsul server, and linearizable read throughput (minconsul's default
// mode GET against etcd's default range) — all processes on disk, the
// sides measured in interleaved rounds. Without an etcd binary the etcd
// columns are left empty with a note.
func ClusterThroughput(ctx context.Context, o Options) ([]Result, error) {
	o = o.withDefaults()
	bin, cleanup, err := o.binary(ctx)
	if err != nil {
		return nil, err
	}
	defer cleanup()
	dir, err := os.MkdirTemp(o.TempDir, "minconsul-bench-cluster")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)

	mc, err := StartProcCluster(ctx, bin, filepath.Join(dir, "minconsul"), ClusterIPs, "")
	if err != nil {
		return nil, fmt.Errorf("minconsul cluster: %w", err)
	}
	defer mc.Stop()
	single, err := StartProcCluster(ctx, bin, filepath.Join(dir, "single"), []string{SingleIP}, "")
	if err != nil {
		return nil, fmt.Errorf("minconsul single node: %w", err)
	}
	defer single.Stop()
	etcdNote := ""
	ec, err := StartEtcdCluster(ctx, filepath.Join(dir, "etcd"), EtcdIPs)
	if err != nil {
		etcdNote = "etcd skipped: " + firstLine(err.Error())
		o.Logger.Warn("etcd skipped", "error", err)
	} else {
		defer ec.Stop()
	}

	mcURLs, singleURLs := mc.URLs(), single.URLs()
	setup := &http.Client{Timeout: 10 * time.Second}
	if _, err := putIndex(ctx, setup, mcURLs[0]+"/v1/kv/"+BenchKey, benchValue); err != nil {
		return nil, err
	}
	if ec != nil {
		if err := EtcdPutOp(ctx, setup, ec.URLs[0], BenchKey, benchValue)(); err != nil {
			return nil, err
		}
	}

	type opFor func(ctx context.Context, client *http.Client, base string, worker int) func() error
	side := func(urls []string, conc int, op opFor) func(warm, d time.Duration) (float64, error) {
		client := NewHTTPClient(conc)
		return func(warm, d time.Duration) (float64, error) {
			return Load(ctx, conc, warm, d, func(w int) (func() error, func()) {
				return op(ctx, client, urls[w%len(urls)], w), nil
			})
		}
	}
	mcPut := func(ctx context.Context, client *http.Client, base string, w int) func() error {
		return HTTPPutOp(ctx, client, fmt.Sprintf("%s/v1/kv/bench/put/%d", base, w))
	}
	etcdPut := func(ctx context.Context, client *http.Client, base string, w int) func() error {
		return EtcdPutOp(ctx, client, base, fmt.Sprintf("bench/put/%d", w), benchValue)
	}
	mcGet := func(ctx context.Context, client *http.Client, base string, _ int) func() error {
		return HTTPGetOp(ctx, client, base+"/v1/kv/"+BenchKey)
	}
	etcdGet := func(ctx context.Context, client *http.Client, base string, _ int) func() error {
		return EtcdRangeOp(ctx, client, base, BenchKey)
	}
	// Disk latency on a shared machine drifts by tens of percent within
	// seconds: four interleaved rounds of o.Duration per side make the
	// ratio hold still from run to run where two short ones did not.
	const rounds = 4
	vsEtcd := func(name string, mcRate float64, etcdRate float64, note string) Result {
		r := Result{Name: name, Figure: mcRate, Unit: "ops/s", Target: "ratio >= 1.2", Note: note}
		if ec == nil {
			r.Target, r.Pass, r.Note = "-", true, etcdNote
			return r
		}
		r.Baseline, r.Ratio = etcdRate, ratio(mcRate, etcdRate)
		r.Pass = r.Ratio >= 1.2
		return r
	}
	var results []Result
	for _, c := range o.ClusterClients {
		sides := []func(warm, d time.Duration) (float64, error){side(mcURLs, c, mcPut), side(singleURLs, c, mcPut)}
		if ec != nil {
			sides = append(sides, side(ec.URLs, c, etcdPut))
		}
		rates, err := AlternateN(ctx, rounds, o.Warmup, rounds*o.Duration, sides...)
		if err != nil {
			return nil, fmt.Errorf("PUT with %d clients: %w", c, err)
		}
		etcdRate := 0.0
		if ec != nil {
			etcdRate = rates[2]
		}
		results = append(results,
			vsEtcd(fmt.Sprintf("cluster3 kv-put c=%d vs etcd3", c), rates[0], etcdRate, "PUT /v1/kv vs POST /v3/kv/put"),
			Result{Name: fmt.Sprintf("cluster3 kv-put c=%d vs 1 node", c), Figure: rates[0], Unit: "ops/s",
				Baseline: rates[1], Ratio: ratio(rates[0], rates[1]), Target: "-", Pass: true,
				Note: "baseline: one -bootstrap server process on disk"})
	}
	for _, c := range o.ClusterClients {
		sides := []func(warm, d time.Duration) (float64, error){side(mcURLs, c, mcGet)}
		if ec != nil {
			sides = append(sides, side(ec.URLs, c, etcdGet))
		}
		rates, err := AlternateN(ctx, rounds, o.Warmup, rounds*o.Duration, sides...)
		if err != nil {
			return nil, fmt.Errorf("GET with %d clients: %w", c, err)
		}
		etcdRate := 0.0
		if ec != nil {
			etcdRate = rates[1]
		}
		results = append(results, vsEtcd(fmt.Sprintf("cluster3 kv-get c=%d vs etcd3", c), rates[0], etcdRate,
			"linearizable: default-mode GET vs range"))
	}
	return results, nil
}

// Failover kills the leader of a 3-server cluster o.Runs times (SIGKILL)
// and measures from the kill until a PUT sent through a surviving follower
// succeeds; the killed node is restarted and caught up between samples.
func Failover(ctx context.Context, o Options) ([]Result, error) {
	o = o.withDefaults()
	bin, cleanup, err := o.binary(ctx)
	if err != nil {
		return nil, err
	}
	defer cleanup()
	dir, err := os.MkdirTemp(o.TempDir, "minconsul-bench-failover")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	mc, err := StartProcCluster(ctx, bin, dir, ClusterIPs, "")
	if err != nil {
		return nil, err
	}
	defer mc.Stop()
	client := &http.Client{Timeout: 15 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	var samples []time.Duration
	for i := 0; i < o.Runs; i++ {
		leader, err := mc.Leader(ctx)
		if err != nil {
			return nil, err
		}
		var follower *ProcNode
		for _, n := range mc.Nodes {
			if n != leader {
				follower = n
				break
			}
		}
		url := "http://" + follower.HTTPAddr() + "/v1/kv/bench/failover"
		killed := time.Now()
		leader.Kill()
		for {
			if _, err := putIndex(ctx, client, url, "v"); err == nil {
				break
			} else if time.Since(killed) > time.Minute || ctx.Err() != nil {
				return nil, fmt.Errorf("no write through %s within a minute of killing %s: %v", follower.Name, leader.Name, err)
			}
			time.Sleep(5 * time.Millisecond) // retry interval of the measured client
		}
		samples = append(samples, time.Since(killed))
		if err := mc.Restart(ctx, leader); err != nil {
			return nil, err
		}
		if err := mc.WaitReady(ctx, 60*time.Second); err != nil {
			return nil, err
		}
	}
	med := median(samples)
	return []Result{{
		Name: "cluster3 leader-kill to write", Figure: float64(med) / 1e6, Unit: "ms",
		Target: "< 3000 ms", Pass: med < 3*time.Second,
		Note: fmt.Sprintf("median of %d, through a follower: %v", len(samples), roundAll(samples)),
	}}, nil
}

// FastGossip is the gossip_lan block the fast DNS-removal run uses.
var FastGossip = map[string]any{
	"probe_interval": "200ms", "probe_timeout": "100ms", "gossip_interval": "50ms", "suspicion_mult": 2,
}

// DNSRemoval measures from a SIGKILL of a follower that has a registered
// service until that service is gone from another node's DNS answers:
// min(o.Runs, 3) times with fast gossip timings (FastGossip), restarting
// the node between samples, and once with memberlist's defaults.
func DNSRemoval(ctx context.Context, o Options) ([]Result, error) {
	o = o.withDefaults()
	bin, cleanup, err := o.binary(ctx)
	if err != nil {
		return nil, err
	}
	defer cleanup()
	dir, err := os.MkdirTemp(o.TempDir, "minconsul-bench-dns-removal")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	b, _ := json.Marshal(map[string]any{"gossip_lan": FastGossip})
	fastConf := filepath.Join(dir, "fast.json")
	if err := os.WriteFile(fastConf, b, 0o644); err != nil {
		return nil, err
	}
	type variant struct {
		name, config, gossip string
		samples              int
	}
	variants := []variant{{"fast", fastConf, "probe 200ms/100ms, gossip 50ms, suspicion_mult 2", min(o.Runs, 3)}}
	if !o.FastGossipOnly {
		variants = append(variants, variant{"default", "", "memberlist LAN defaults", 1})
	}
	var results []Result
	for _, v := range variants {
		samples, note, err := dnsRemovalSamples(ctx, bin, filepath.Join(dir, v.name), v.config, v.samples)
		if err != nil {
			return nil, fmt.Errorf("%s gossip: %w", v.name, err)
		}
		med := median(samples)
		results = append(results, Result{
			Name: fmt.Sprintf("cluster3 node-kill to DNS gone (%s gossip)", v.name), Figure: float64(med) / 1e6, Unit: "ms",
			Target: "-", Pass: true,
			Note: fmt.Sprintf("%s; median of %d: %v%s", v.gossip, len(samples), roundAll(samples), note),
		})
	}
	return results, nil
}

// dnsRemovalService is the service the DNS-removal measurement registers.
const dnsRemovalService = "benchdns"

func dnsRemovalSamples(ctx context.Context, bin, dir, config string, n int) ([]time.Duration, string, error) {
	mc, err := StartProcCluster(ctx, bin, dir, ClusterIPs, config)
	if err != nil {
		return nil, "", err
	}
	defer mc.Stop()
	leader, err := mc.Leader(ctx)
	if err != nil {
		return nil, "", err
	}
	// victim: a follower (a leader's death would add an election);
	// observer: another node.
	var victim, observer *ProcNode
	for _, n := range mc.Nodes {
		switch {
		case n == leader:
		case victim == nil:
			victim = n
		default:
			observer = n
		}
	}
	client := &http.Client{Timeout: 10 * time.Second}
	reg := fmt.Sprintf(`{"ID":%q,"Name":%q,"Port":9999}`, dnsRemovalService, dnsRemovalService)
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, "http://"+victim.HTTPAddr()+"/v1/agent/service/register", strings.NewReader(reg))
	if err != nil {
		return nil, "", err
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, "", err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, "", fmt.Errorf("register on %s: status %d", victim.Name, resp.StatusCode)
	}
	qname := dnsRemovalService + ".service.consul."
	var (
		samples []time.Duration
		note    string
	)
	for i := 0; i < n; i++ {
		if err := waitDNS(ctx, observer.DNSAddr(), qname, victim.IP, true, 60*time.Second, 20*time.Millisecond); err != nil {
			return nil, "", fmt.Errorf("service on %s never in %s's DNS: %w", victim.Name, observer.Name, err)
		}
		if l, err := mc.Leader(ctx); err == nil && l == victim {
			note = " (the victim led in some samples)"
		}
		killed := time.Now()
		victim.Kill()
		if err := waitDNS(ctx, observer.DNSAddr(), qname, victim.IP, false, 2*time.Minute, 5*time.Millisecond); err != nil {
			return nil, "", fmt.Errorf("service of killed %s still in %s's DNS: %w", victim.Name, observer.Name, err)
		}
		samples = append(samples, time.Since(killed))
		if i < n-1 {
			if err := mc.Restart(ctx, victim); err != nil {
				return nil, "", err
			}
			if err := mc.WaitReady(ctx, 60*time.Second); err != nil {
				return nil, "", err
			}
		}
	}
	return samples, note, nil
}

// waitDNS polls addr with an A query for qname every interval until an
// answer holding ip is present (want) or absent (!want, and the query
// answered), or timeout passes.
func waitDNS(ctx context.Context, addr, qname, ip string, want bool, timeout, interval time.Duration) error {
	c := &dns.Client{Net: "udp", Timeout: time.Second}
	q := new(dns.Msg)
	q.SetQuestion(qname, dns.TypeA)
	deadline := time.Now().Add(timeout)
	target := net.ParseIP(ip)
	var last string
	for {
		r, _, err := c.ExchangeContext(ctx, q, addr)
		if err == nil {
			has := false
			for _, rr := range r.Answer {
				if a, ok := rr.(*dns.A); ok && a.A.Equal(target) {
					has = true
				}
			}
			if has == want {
				return nil
			}
			last = fmt.Sprintf("rcode %s, %d answers", dns.RcodeToString[r.Rcode], len(r.Answer))
		} else {
			last = err.Error()
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("after %s: %s", timeout, last)
		}
		time.Sleep(interval) // poll interval, bounded by the deadline
	}
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}
