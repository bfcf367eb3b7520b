package dnsserver

import (
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// upstream is a tiny resolver on loopback (UDP and TCP) answering
// example.com A, NXDOMAIN for nx.example.com and SERVFAIL for the rest.
type upstream struct {
	addr    string // same port for UDP and TCP is not guaranteed: UDP only
	tcpAddr string
	hits    atomic.Int64
}

func startUpstream(t *testing.T, rcodeForAll int) *upstream {
	t.Helper()
	u := &upstream{}
	h := dns.HandlerFunc(func(w dns.ResponseWriter, req *dns.Msg) {
		u.hits.Add(1)
		m := new(dns.Msg)
		m.SetReply(req)
		m.RecursionAvailable = true
		q := req.Question[0]
		switch {
		case rcodeForAll != dns.RcodeSuccess:
			m.Rcode = rcodeForAll
		case q.Name == "example.com." && q.Qtype == dns.TypeA:
			rr, _ := dns.NewRR("example.com. 300 IN A 192.0.2.7")
			m.Answer = append(m.Answer, rr)
		case q.Name == "7.2.0.192.in-addr.arpa.":
			rr, _ := dns.NewRR("7.2.0.192.in-addr.arpa. 300 IN PTR example.com.")
			m.Answer = append(m.Answer, rr)
		case q.Name == "nx.example.com.":
			m.Rcode = dns.RcodeNameError
		default:
			m.Rcode = dns.RcodeServerFailure
		}
		_ = w.WriteMsg(m)
	})
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	for _, srv := range []*dns.Server{{PacketConn: pc, Handler: h}, {Listener: ln, Handler: h}} {
		started := make(chan struct{})
		srv.NotifyStartedFunc = func() { close(started) }
		go func() { _ = srv.ActivateAndServe() }()
		<-started
		t.Cleanup(func() { _ = srv.Shutdown() })
	}
	u.addr, u.tcpAddr = pc.LocalAddr().String(), ln.Addr().String()
	return u
}

// blackhole is a UDP socket that reads queries and never answers.
func blackhole(t *testing.T) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	return pc.LocalAddr().String()
}

func TestDNS_Recursors(t *testing.T) {
	st := newTestStore(t)
	seedCatalog(t, st)
	good := startUpstream(t, dns.RcodeSuccess)
	failing := startUpstream(t, dns.RcodeRefused)

	t.Run("udp: dead and failing recursors are skipped", func(t *testing.T) {
		ts := startServer(t, Config{AllowStale: true, RecursorTimeout: 200 * time.Millisecond,
			Recursors: []string{blackhole(t), failing.addr, good.addr}}, lone(t, st))
		r := ts.exchange(t, "udp", question("example.com.", dns.TypeA))
		if r.Rcode != dns.RcodeSuccess || len(r.Answer) != 1 || r.Answer[0].(*dns.A).A.String() != "192.0.2.7" {
			t.Fatalf("got %v", r)
		}
		if failing.hits.Load() == 0 {
			t.Errorf("the failing recursor was not tried")
		}
		r = ts.exchange(t, "udp", question("nx.example.com.", dns.TypeA))
		if r.Rcode != dns.RcodeNameError {
			t.Errorf("rcode %s, want the upstream's NXDOMAIN", dns.RcodeToString[r.Rcode])
		}
		// Our own zone still answers, and now offers recursion.
		r = ts.exchange(t, "udp", question("foo.node.consul.", dns.TypeA))
		if len(r.Answer) != 1 || !r.RecursionAvailable {
			t.Errorf("got %v, want an answer with RA", r)
		}
		// Unknown reverse names go upstream too.
		r = ts.exchange(t, "udp", question("7.2.0.192.in-addr.arpa.", dns.TypePTR))
		if len(r.Answer) != 1 || r.Answer[0].(*dns.PTR).Ptr != "example.com." {
			t.Errorf("PTR got %v", r)
		}
	})
	t.Run("tcp goes upstream over tcp", func(t *testing.T) {
		ts := startServer(t, Config{AllowStale: true, Recursors: []string{good.tcpAddr}}, lone(t, st))
		r := ts.exchange(t, "tcp", question("example.com.", dns.TypeA))
		if r.Rcode != dns.RcodeSuccess || len(r.Answer) != 1 {
			t.Fatalf("got %v", r)
		}
	})
	t.Run("all fail: SERVFAIL", func(t *testing.T) {
		ts := startServer(t, Config{AllowStale: true, RecursorTimeout: 200 * time.Millisecond,
			Recursors: []string{blackhole(t), failing.addr}}, lone(t, st))
		q := withEDNS(question("example.com.", dns.TypeA), 1232)
		r := ts.exchange(t, "udp", q)
		if r.Rcode != dns.RcodeServerFailure || !r.RecursionAvailable {
			t.Fatalf("got %v, want SERVFAIL with RA", r)
		}
		if r.IsEdns0() == nil {
			t.Errorf("no OPT echoed on SERVFAIL")
		}
	})
}

func TestRecursorAddr(t *testing.T) {
	for in, want := range map[string]string{
		"8.8.8.8":         "8.8.8.8:53",
		"8.8.8.8:5353":    "8.8.8.8:5353",
		"2001:db8::1":     "[2001:db8::1]:53",
		"[2001:db8::1]":   "[2001:db8::1]:53",
		"[::1]:5300":      "[::1]:5300",
		"dns.example.com": "dns.example.com:53",
	} {
		got, err := recursorAddr(in)
		if err != nil || got != want {
			t.Errorf("recursorAddr(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"", ":53", "a:b:c"} {
		if got, err := recursorAddr(bad); err == nil {
			t.Errorf("recursorAddr(%q) = %q, want an error", bad, got)
		}
	}
}
