package dnsserver

import (
	"fmt"
	"strings"
	"testing"

	"github.com/miekg/dns"

	"github.com/minconsul/minconsul/raftstore"
	"github.com/minconsul/minconsul/structs"
)

// seedBig registers n instances of "big" on n nodes with long names, so
// that SRV answers with glue quickly outgrow 512 bytes.
func seedBig(t testing.TB, st *raftstore.Store, n int) {
	t.Helper()
	for i := range n {
		node := fmt.Sprintf("a-rather-long-node-name-%03d", i)
		register(t, st, &structs.RegisterRequest{Node: node, Address: fmt.Sprintf("127.0.%d.%d", 1+i/250, 1+i%250),
			Service: &structs.NodeService{ID: "big", Service: "big", Port: 2000 + i},
			Check:   serfCheck(node, structs.HealthPassing)})
	}
}

func withEDNS(m *dns.Msg, size uint16) *dns.Msg {
	m.SetEdns0(size, false)
	return m
}

// checkGlue asserts that every SRV answer has its A record in extra and
// extra holds nothing else (but the OPT).
func checkGlue(t *testing.T, r *dns.Msg) {
	t.Helper()
	targets := map[string]bool{}
	for _, rr := range r.Answer {
		if srv, ok := rr.(*dns.SRV); ok {
			targets[srv.Target] = true
		}
	}
	for _, rr := range r.Extra {
		if rr.Header().Rrtype == dns.TypeOPT {
			continue
		}
		if !targets[rr.Header().Name] {
			t.Errorf("extra %s has no SRV answer", rr)
		}
		delete(targets, rr.Header().Name)
	}
	if len(targets) != 0 {
		t.Errorf("SRV targets without glue: %v", targets)
	}
}

func TestDNS_Truncation(t *testing.T) {
	const n = 40
	st := newTestStore(t)
	seedBig(t, st, n)
	ts := startServer(t, Config{AllowStale: true, EnableTruncate: true}, lone(t, st))

	t.Run("udp without EDNS: answer limit and TC", func(t *testing.T) {
		for _, qt := range []uint16{dns.TypeA, dns.TypeSRV} {
			r := ts.exchange(t, "udp", question("big.service.consul.", qt))
			if len(r.Answer) != defaultUDPAnswerLimit || !r.Truncated {
				t.Errorf("%s: answers=%d TC=%v, want %d and TC", dns.TypeToString[qt], len(r.Answer), r.Truncated, defaultUDPAnswerLimit)
			}
			if r.IsEdns0() != nil {
				t.Errorf("OPT in the reply to a query without EDNS0")
			}
			checkGlue(t, r)
		}
	})
	t.Run("tcp retry gets everything", func(t *testing.T) {
		for _, qt := range []uint16{dns.TypeA, dns.TypeSRV} {
			r := ts.exchange(t, "tcp", question("big.service.consul.", qt))
			if len(r.Answer) != n || r.Truncated {
				t.Errorf("%s: answers=%d TC=%v, want %d and no TC", dns.TypeToString[qt], len(r.Answer), r.Truncated, n)
			}
			checkGlue(t, r)
		}
	})
	t.Run("EDNS buffer large enough", func(t *testing.T) {
		r := ts.exchange(t, "udp", withEDNS(question("big.service.consul.", dns.TypeSRV), 8192))
		if len(r.Answer) != n || r.Truncated {
			t.Errorf("answers=%d TC=%v, want %d", len(r.Answer), r.Truncated, n)
		}
		opt := r.IsEdns0()
		if opt == nil || opt.UDPSize() != 8192 {
			t.Errorf("OPT = %v, want echoed with size 8192", opt)
		}
		checkGlue(t, r)
	})
	t.Run("EDNS buffer too small", func(t *testing.T) {
		q := withEDNS(question("big.service.consul.", dns.TypeSRV), 1232)
		c := &dns.Client{Net: "udp", UDPSize: 1232}
		r, _, err := c.Exchange(q, ts.udpAddr)
		if err != nil {
			t.Fatal(err)
		}
		if !r.Truncated || len(r.Answer) == 0 || len(r.Answer) >= n {
			t.Fatalf("answers=%d TC=%v, want some and TC", len(r.Answer), r.Truncated)
		}
		r.Compress = true // as sent on the wire
		if l := r.Len(); l > 1232 {
			t.Errorf("reply is %d bytes, over the 1232 the client offered", l)
		}
		if r.IsEdns0() == nil {
			t.Errorf("no OPT in the reply")
		}
		checkGlue(t, r)
	})
	t.Run("a client that retries over TCP on TC", func(t *testing.T) {
		q := question("big.service.consul.", dns.TypeSRV)
		r := ts.exchange(t, "udp", q)
		if r.Truncated {
			r = ts.exchange(t, "tcp", q)
		}
		if len(r.Answer) != n {
			t.Errorf("answers=%d after the TCP retry, want %d", len(r.Answer), n)
		}
	})
}

// Consul's default: trim UDP answers silently (no TC) unless enable_truncate.
func TestDNS_TrimWithoutTruncateFlag(t *testing.T) {
	st := newTestStore(t)
	seedBig(t, st, 10)
	ts := startServer(t, Config{AllowStale: true, UDPAnswerLimit: 5}, lone(t, st))
	r := ts.exchange(t, "udp", question("big.service.consul.", dns.TypeA))
	if len(r.Answer) != 5 || r.Truncated {
		t.Errorf("answers=%d TC=%v, want 5 without TC", len(r.Answer), r.Truncated)
	}
}

// finish on its own: a single answer larger than the buffer leaves an empty
// truncated reply rather than an oversized datagram.
func TestFinish_OversizedSingleAnswer(t *testing.T) {
	s, err := New(Config{Datacenter: "dc1"}, fakeStore{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	req := question("x.node.consul.", dns.TypeTXT)
	m := s.reply(req)
	m.Answer = []dns.RR{&dns.TXT{Hdr: dns.RR_Header{Name: "x.node.consul.", Rrtype: dns.TypeTXT, Class: dns.ClassINET},
		Txt: []string{strings.Repeat("a", 255), strings.Repeat("b", 255), strings.Repeat("c", 255)}}}
	s.finish(req, m, nil, false)
	if !m.Truncated || len(m.Answer) != 0 {
		t.Fatalf("TC=%v answers=%d, want TC and none", m.Truncated, len(m.Answer))
	}
	m.Answer = []dns.RR{&dns.TXT{Hdr: dns.RR_Header{Name: "x.node.consul.", Rrtype: dns.TypeTXT, Class: dns.ClassINET},
		Txt: []string{strings.Repeat("a", 255), strings.Repeat("b", 255), strings.Repeat("c", 255)}}}
	m.Truncated = false
	s.finish(req, m, nil, true)
	if m.Truncated || len(m.Answer) != 1 {
		t.Fatalf("over TCP: TC=%v answers=%d, want the answer", m.Truncated, len(m.Answer))
	}
}
