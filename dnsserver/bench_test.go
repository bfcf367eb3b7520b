package dnsserver

import (
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/miekg/dns"

	"github.com/minconsul/minconsul/internal/telemetry"
	"github.com/minconsul/minconsul/raftstore"
	"github.com/minconsul/minconsul/structs"
	"github.com/minconsul/minconsul/testutil"
)

// benchInstances is how many healthy instances the SRV benchmark returns.
const benchInstances = 3

// benchClientLoop is the client loop both benchmarks share: parallel
// clients, each on its own UDP socket, one query in flight per socket.
func benchClientLoop(b *testing.B, addr string, q *dns.Msg, wantAnswers int) {
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		conn, err := dns.Dial("udp", addr)
		if err != nil {
			b.Error(err)
			return
		}
		defer conn.Close()
		m := q.Copy()
		for pb.Next() {
			m.Id = dns.Id()
			if err := conn.WriteMsg(m); err != nil {
				b.Error(err)
				return
			}
			r, err := conn.ReadMsg()
			if err != nil {
				b.Error(err)
				return
			}
			if len(r.Answer) != wantAnswers {
				b.Errorf("answers = %d, want %d", len(r.Answer), wantAnswers)
				return
			}
		}
	})
}

// BenchmarkDNS_SRV measures the real server, backed by a Dev raftstore,
// answering an SRV query for a service with benchInstances instances
// (shuffle, health filter, SRV + glue, size check) over UDP loopback.
func BenchmarkDNS_SRV(b *testing.B) {
	benchClientLoop(b, startBenchServer(b), question("web.service.consul.", dns.TypeSRV), benchInstances)
}

// BenchmarkDNS_BareBaseline is the same client loop against a trivial
// miekg/dns handler that answers a fixed SRV response of the same shape.
func BenchmarkDNS_BareBaseline(b *testing.B) {
	benchClientLoop(b, startBareServer(b), question("web.service.consul.", dns.TypeSRV), benchInstances)
}

// BenchmarkDNS_SRVvsBaseline alternates short rounds against both servers
// so that both see the same machine load, and reports the real server's
// throughput as a fraction of the bare handler's (srv/bare).
func BenchmarkDNS_SRVvsBaseline(b *testing.B) {
	srvAddr, bareAddr := startBenchServer(b), startBareServer(b)
	q := question("web.service.consul.", dns.TypeSRV)
	const clients, round = 2, 500
	srvPool, barePool := dialPool(b, srvAddr, clients), dialPool(b, bareAddr, clients)
	var srvTime, bareTime time.Duration
	b.ResetTimer()
	for done := 0; done < b.N; done += round {
		bareTime += runRound(b, barePool, q, round)
		srvTime += runRound(b, srvPool, q, round)
	}
	b.StopTimer()
	n := float64((b.N + round - 1) / round * round)
	b.ReportMetric(float64(srvTime.Nanoseconds())/n, "srv-ns/q")
	b.ReportMetric(float64(bareTime.Nanoseconds())/n, "bare-ns/q")
	b.ReportMetric(float64(bareTime)/float64(srvTime), "ratio")
}

func dialPool(b *testing.B, addr string, n int) []*dns.Conn {
	pool := make([]*dns.Conn, n)
	for i := range pool {
		c, err := dns.Dial("udp", addr)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { c.Close() })
		pool[i] = c
	}
	return pool
}

// runRound sends count queries spread over the pool's connections, one in
// flight per connection, and returns the wall time.
func runRound(b *testing.B, pool []*dns.Conn, q *dns.Msg, count int) time.Duration {
	var wg sync.WaitGroup
	start := time.Now()
	for _, c := range pool {
		wg.Add(1)
		go func() {
			defer wg.Done()
			m := q.Copy()
			for range count / len(pool) {
				m.Id = dns.Id()
				if err := c.WriteMsg(m); err != nil {
					b.Error(err)
					return
				}
				r, err := c.ReadMsg()
				if err != nil || len(r.Answer) != benchInstances {
					b.Errorf("reply %v, %v", r, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	return time.Since(start)
}

// startBenchServer starts the real server over a Dev raftstore holding
// benchInstances healthy instances of "web"; it returns the UDP address.
func startBenchServer(b *testing.B) string {
	return startServerOn(b, benchStore(b), nil)
}

// benchStore is a Dev raftstore holding benchInstances healthy instances
// of "web".
func benchStore(b *testing.B) *raftstore.Store {
	st := newTestStoreWithLogger(b, hclog.NewNullLogger())
	for i := range benchInstances {
		node := fmt.Sprintf("node-%d", i)
		register(b, st, &structs.RegisterRequest{Node: node, Address: fmt.Sprintf("10.0.0.%d", i+1),
			Service: &structs.NodeService{ID: "web", Service: "web", Port: 8000 + i, Tags: []string{"v1"}},
			Checks: structs.HealthChecks{serfCheck(node, structs.HealthPassing),
				svcCheck(node, "web-check", "web", structs.HealthPassing)}})
	}
	return st
}

// startServerOn starts the real server over st, recording into m (nil:
// no metrics); it returns the UDP address.
func startServerOn(b *testing.B, st *raftstore.Store, m *telemetry.Metrics) string {
	s, err := New(Config{Datacenter: "dc1", NodeName: "node-0", AllowStale: true, Metrics: m}, lone(b, st), hclog.NewNullLogger())
	if err != nil {
		b.Fatal(err)
	}
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	if err := s.Start(pc, nil); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(s.Shutdown)
	return pc.LocalAddr().String()
}

// startBareServer starts a trivial miekg/dns handler answering a fixed SRV
// response of the same shape (3 SRV + 3 A glue).
func startBareServer(b *testing.B) string {
	var answer, extra []dns.RR
	for i := range benchInstances {
		target := fmt.Sprintf("node-%d.node.dc1.consul.", i)
		answer = append(answer, srvRecord("web.service.consul.", 0, 1, 8000+i, target))
		extra = append(extra, ipRecord(target, dns.TypeSRV, net.IPv4(10, 0, 0, byte(i+1)), 0))
	}
	h := dns.HandlerFunc(func(w dns.ResponseWriter, req *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(req)
		m.Authoritative = true
		m.Compress = true
		m.Answer = answer
		m.Extra = extra
		_ = w.WriteMsg(m)
	})
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	srv := &dns.Server{PacketConn: pc, Handler: h, UDPSize: dns.MaxMsgSize}
	started := make(chan struct{})
	srv.NotifyStartedFunc = func() { close(started) }
	done := make(chan struct{})
	go func() { defer close(done); _ = srv.ActivateAndServe() }()
	<-started
	b.Cleanup(func() { _ = srv.Shutdown(); <-done })
	return pc.LocalAddr().String()
}

// BenchmarkAnswer_SRV is the handler path alone (no sockets): the part of
// the cost this package controls.
func BenchmarkAnswer_SRV(b *testing.B) {
	st := newTestStoreWithLogger(b, hclog.NewNullLogger())
	for i := range benchInstances {
		node := fmt.Sprintf("node-%d", i)
		register(b, st, &structs.RegisterRequest{Node: node, Address: fmt.Sprintf("10.0.0.%d", i+1),
			Service: &structs.NodeService{ID: "web", Service: "web", Port: 8000 + i},
			Check:   serfCheck(node, structs.HealthPassing)})
	}
	s, err := New(Config{Datacenter: "dc1", AllowStale: true}, lone(b, st), hclog.NewNullLogger())
	if err != nil {
		b.Fatal(err)
	}
	q := question("web.service.consul.", dns.TypeSRV)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		m := s.answer(q, false)
		if len(m.Answer) != benchInstances {
			b.Fatalf("answers = %d", len(m.Answer))
		}
		if _, err := m.Pack(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkMetricsCost_DNS is the A/B of the metrics sink on DNS: two
// servers over the same store, one recording consul.dns.domain_query, in
// interleaved rounds. cost = median over the interleaved
// pairs of rounds of with / without time (1.03 is a 3 % cost).
func BenchmarkMetricsCost_DNS(b *testing.B) {
	st := benchStore(b)
	start := func(m *telemetry.Metrics) string { return startServerOn(b, st, m) }
	q := question("web.service.consul.", dns.TypeSRV)
	const clients, round = 2, 500
	withoutPool := dialPool(b, start(nil), clients)
	// inmem: Consul's default sinks; inmem+prometheus: minconsul's default;
	// none: a second server without sinks (A/A: the harness's own bias).
	for _, sinks := range []struct {
		name      string
		retention time.Duration
	}{{"none", 0}, {"inmem", -1}, {"inmem+prometheus", 0}} {
		b.Run(sinks.name, func(b *testing.B) {
			var met *telemetry.Metrics
			if sinks.name != "none" {
				var err error
				if met, err = telemetry.New(telemetry.Config{PrometheusRetention: sinks.retention}); err != nil {
					b.Fatal(err)
				}
			}
			withPool := dialPool(b, start(met), clients)
			var ab testutil.ABRounds
			for i := 0; i < b.N; i++ {
				var tWith, tWithout time.Duration
				if i%2 == 0 {
					tWithout = runRound(b, withoutPool, q, round)
					tWith = runRound(b, withPool, q, round)
				} else {
					tWith = runRound(b, withPool, q, round)
					tWithout = runRound(b, withoutPool, q, round)
				}
				ab.Add(tWithout, tWith)
			}
			ab.Report(b, round, "q")
		})
	}
}

// BenchmarkMetricsCost_DNSAnswer is the query handler alone (no sockets)
// over the same store, without and with the sinks, in interleaved chunks:
// the cost of the timer against the handler's own work, an upper bound of
// its share of a query served over UDP.
func BenchmarkMetricsCost_DNSAnswer(b *testing.B) {
	st := benchStore(b)
	server := func(m *telemetry.Metrics) *Server {
		s, err := New(Config{Datacenter: "dc1", NodeName: "node-0", AllowStale: true, Metrics: m}, lone(b, st), hclog.NewNullLogger())
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(s.Shutdown)
		return s
	}
	q := question("web.service.consul.", dns.TypeSRV)
	without := server(nil)
	const chunk = 200
	run := func(s *Server) time.Duration {
		start := time.Now()
		for range chunk {
			if s.answer(q, false) == nil {
				b.Fatal("no answer")
			}
		}
		return time.Since(start)
	}
	for _, sinks := range []struct {
		name      string
		retention time.Duration
	}{{"inmem", -1}, {"inmem+prometheus", 0}} {
		b.Run(sinks.name, func(b *testing.B) {
			met, err := telemetry.New(telemetry.Config{PrometheusRetention: sinks.retention})
			if err != nil {
				b.Fatal(err)
			}
			with := server(met)
			var ab testutil.ABRounds
			for i := 0; i < b.N; i++ {
				if i%2 == 0 {
					tWithout := run(without)
					ab.Add(tWithout, run(with))
				} else {
					tWith := run(with)
					ab.Add(run(without), tWith)
				}
			}
			ab.Report(b, chunk, "q")
		})
	}
}
