package dnsserver

import (
	"slices"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/minconsul/minconsul/raftstore"
	"github.com/minconsul/minconsul/structs"
)

const soaLine = "consul. 0 IN SOA ns.consul. hostmaster.consul. 0 3600 600 86400 0"

// seedCatalog registers the fixture most tests share:
//
//	foo  127.0.0.1    db (primary,v1) :12345, api :8080 (warning, weights 10/2)
//	bar  127.0.0.2    db (replica) :12346 at 10.0.0.5
//	baz  127.0.0.3    db (replica) :12347, critical service check
//	qux  127.0.0.4    web :80, serfHealth critical
//	six  2001:db8::1  v6svc :9000
//	ext  127.0.0.9    extsvc :443 at example.com
func seedCatalog(t testing.TB, st *raftstore.Store) {
	t.Helper()
	register(t, st, &structs.RegisterRequest{Node: "foo", Address: "127.0.0.1", NodeMeta: map[string]string{"rack": "r1"},
		Service: &structs.NodeService{ID: "db1", Service: "db", Tags: []string{"primary", "v1"}, Port: 12345},
		Checks:  structs.HealthChecks{serfCheck("foo", structs.HealthPassing), svcCheck("foo", "db1-check", "db1", structs.HealthPassing)}})
	register(t, st, &structs.RegisterRequest{Node: "foo", Address: "127.0.0.1", NodeMeta: map[string]string{"rack": "r1"},
		Service: &structs.NodeService{ID: "api1", Service: "api", Port: 8080, Weights: structs.Weights{Passing: 10, Warning: 2}},
		Check:   svcCheck("foo", "api1-check", "api1", structs.HealthWarning)})
	register(t, st, &structs.RegisterRequest{Node: "bar", Address: "127.0.0.2",
		Service: &structs.NodeService{ID: "db2", Service: "db", Tags: []string{"replica"}, Port: 12346, Address: "10.0.0.5"},
		Check:   serfCheck("bar", structs.HealthPassing)})
	register(t, st, &structs.RegisterRequest{Node: "baz", Address: "127.0.0.3",
		Service: &structs.NodeService{ID: "db3", Service: "db", Tags: []string{"replica"}, Port: 12347},
		Checks:  structs.HealthChecks{serfCheck("baz", structs.HealthPassing), svcCheck("baz", "db3-check", "db3", structs.HealthCritical)}})
	register(t, st, &structs.RegisterRequest{Node: "qux", Address: "127.0.0.4",
		Service: &structs.NodeService{ID: "web1", Service: "web", Port: 80},
		Check:   serfCheck("qux", structs.HealthCritical)})
	register(t, st, &structs.RegisterRequest{Node: "six", Address: "2001:db8::1",
		Service: &structs.NodeService{ID: "v6", Service: "v6svc", Port: 9000},
		Check:   serfCheck("six", structs.HealthPassing)})
	register(t, st, &structs.RegisterRequest{Node: "ext", Address: "127.0.0.9",
		Service: &structs.NodeService{ID: "ext1", Service: "extsvc", Port: 443, Address: "example.com"},
		Check:   serfCheck("ext", structs.HealthPassing)})
}

type dnsCase struct {
	qname  string
	qtype  uint16
	rcode  int
	answer []string
	ns     []string
	extra  []string
}

func runCases(t *testing.T, ts *testServer, cases []dnsCase) {
	t.Helper()
	for _, network := range []string{"udp", "tcp"} {
		for _, tc := range cases {
			t.Run(network+"/"+tc.qname+"/"+dns.TypeToString[tc.qtype], func(t *testing.T) {
				r := ts.exchange(t, network, question(tc.qname, tc.qtype))
				if r.Rcode != tc.rcode {
					t.Fatalf("rcode = %s, want %s\n%v", dns.RcodeToString[r.Rcode], dns.RcodeToString[tc.rcode], r)
				}
				checkSection(t, "answer", r.Answer, tc.answer)
				checkSection(t, "authority", r.Ns, tc.ns)
				checkSection(t, "extra", r.Extra, tc.extra)
				if r.Truncated {
					t.Errorf("TC set on a small answer")
				}
			})
		}
	}
}

func checkSection(t *testing.T, what string, got []dns.RR, want []string) {
	t.Helper()
	g := rrStrings(got)
	w := slices.Clone(want)
	slices.Sort(w)
	if !slices.Equal(g, w) {
		t.Errorf("%s:\n got  %q\n want %q", what, g, w)
	}
}

func TestDNS_Lookups(t *testing.T) {
	st := newTestStore(t)
	seedCatalog(t, st)
	ts := startServer(t, Config{Domain: "Consul", Datacenter: "dc1", NodeName: "foo", AllowStale: true}, lone(t, st))

	dbSRV := []string{
		"db.service.consul. 0 IN SRV 1 1 12345 foo.node.dc1.consul.",
		"db.service.consul. 0 IN SRV 1 1 12346 0a000005.addr.dc1.consul.",
	}
	dbGlue := []string{
		"foo.node.dc1.consul. 0 IN A 127.0.0.1",
		"0a000005.addr.dc1.consul. 0 IN A 10.0.0.5",
	}
	nx := []string{soaLine}
	cases := []dnsCase{
		{qname: "db.service.consul.", qtype: dns.TypeSRV, answer: dbSRV, extra: dbGlue},
		{qname: "db.service.consul.", qtype: dns.TypeA, answer: []string{
			"db.service.consul. 0 IN A 127.0.0.1", "db.service.consul. 0 IN A 10.0.0.5"}},
		{qname: "db.service.consul.", qtype: dns.TypeANY, answer: []string{
			"db.service.consul. 0 IN A 127.0.0.1", "db.service.consul. 0 IN A 10.0.0.5"}},
		{qname: "DB.Service.CONSUL.", qtype: dns.TypeA, answer: []string{
			"DB.Service.CONSUL. 0 IN A 127.0.0.1", "DB.Service.CONSUL. 0 IN A 10.0.0.5"}},
		{qname: "db.service.dc1.consul.", qtype: dns.TypeSRV, answer: []string{
			"db.service.dc1.consul. 0 IN SRV 1 1 12345 foo.node.dc1.consul.",
			"db.service.dc1.consul. 0 IN SRV 1 1 12346 0a000005.addr.dc1.consul."}, extra: dbGlue},
		{qname: "db.service.dc1.dc.consul.", qtype: dns.TypeA, answer: []string{
			"db.service.dc1.dc.consul. 0 IN A 127.0.0.1", "db.service.dc1.dc.consul. 0 IN A 10.0.0.5"}},
		{qname: "db.service.dc2.consul.", qtype: dns.TypeSRV, rcode: dns.RcodeNameError, ns: nx},
		{qname: "primary.db.service.consul.", qtype: dns.TypeSRV, answer: []string{
			"primary.db.service.consul. 0 IN SRV 1 1 12345 foo.node.dc1.consul."},
			extra: []string{"foo.node.dc1.consul. 0 IN A 127.0.0.1"}},
		{qname: "replica.db.service.consul.", qtype: dns.TypeSRV, answer: []string{
			"replica.db.service.consul. 0 IN SRV 1 1 12346 0a000005.addr.dc1.consul."},
			extra: []string{"0a000005.addr.dc1.consul. 0 IN A 10.0.0.5"}},
		{qname: "_db._replica.service.consul.", qtype: dns.TypeSRV, answer: []string{
			"_db._replica.service.consul. 0 IN SRV 1 1 12346 0a000005.addr.dc1.consul."},
			extra: []string{"0a000005.addr.dc1.consul. 0 IN A 10.0.0.5"}},
		{qname: "_db._tcp.service.consul.", qtype: dns.TypeSRV, answer: []string{
			"_db._tcp.service.consul. 0 IN SRV 1 1 12345 foo.node.dc1.consul.",
			"_db._tcp.service.consul. 0 IN SRV 1 1 12346 0a000005.addr.dc1.consul."}, extra: dbGlue},
		{qname: "_db._tcp.consul.", qtype: dns.TypeSRV, answer: []string{
			"_db._tcp.consul. 0 IN SRV 1 1 12345 foo.node.dc1.consul.",
			"_db._tcp.consul. 0 IN SRV 1 1 12346 0a000005.addr.dc1.consul."}, extra: dbGlue},
		{qname: "nosuchtag.db.service.consul.", qtype: dns.TypeSRV, rcode: dns.RcodeNameError, ns: nx},
		{qname: "db.service.consul.", qtype: dns.TypeAAAA, ns: nx},
		{qname: "db.service.consul.", qtype: dns.TypeMX, ns: nx},
		{qname: "web.service.consul.", qtype: dns.TypeA, rcode: dns.RcodeNameError, ns: nx},
		{qname: "nosuch.service.consul.", qtype: dns.TypeSRV, rcode: dns.RcodeNameError, ns: nx},
		{qname: "api.service.consul.", qtype: dns.TypeSRV, answer: []string{
			"api.service.consul. 0 IN SRV 1 2 8080 foo.node.dc1.consul."},
			extra: []string{"foo.node.dc1.consul. 0 IN A 127.0.0.1"}},
		{qname: "v6svc.service.consul.", qtype: dns.TypeSRV, answer: []string{
			"v6svc.service.consul. 0 IN SRV 1 1 9000 six.node.dc1.consul."},
			extra: []string{"six.node.dc1.consul. 0 IN AAAA 2001:db8::1"}},
		{qname: "v6svc.service.consul.", qtype: dns.TypeAAAA, answer: []string{"v6svc.service.consul. 0 IN AAAA 2001:db8::1"}},
		{qname: "extsvc.service.consul.", qtype: dns.TypeA, answer: []string{"extsvc.service.consul. 0 IN CNAME example.com."}},
		{qname: "extsvc.service.consul.", qtype: dns.TypeSRV, answer: []string{"extsvc.service.consul. 0 IN SRV 1 1 443 example.com."}},

		{qname: "foo.node.consul.", qtype: dns.TypeA, answer: []string{"foo.node.consul. 0 IN A 127.0.0.1"}},
		{qname: "FOO.NODE.DC1.CONSUL.", qtype: dns.TypeA, answer: []string{"FOO.NODE.DC1.CONSUL. 0 IN A 127.0.0.1"}},
		{qname: "foo.node.dc2.consul.", qtype: dns.TypeA, rcode: dns.RcodeNameError, ns: nx},
		{qname: "nosuch.node.consul.", qtype: dns.TypeA, rcode: dns.RcodeNameError, ns: nx},
		{qname: "foo.node.consul.", qtype: dns.TypeAAAA, ns: nx},
		{qname: "foo.node.consul.", qtype: dns.TypeTXT, answer: []string{`foo.node.consul. 0 IN TXT "rack=r1"`}},
		{qname: "foo.node.consul.", qtype: dns.TypeANY, answer: []string{
			"foo.node.consul. 0 IN A 127.0.0.1", `foo.node.consul. 0 IN TXT "rack=r1"`}},
		{qname: "six.node.consul.", qtype: dns.TypeAAAA, answer: []string{"six.node.consul. 0 IN AAAA 2001:db8::1"}},

		{qname: "7f000001.addr.dc1.consul.", qtype: dns.TypeA, answer: []string{"7f000001.addr.dc1.consul. 0 IN A 127.0.0.1"}},
		{qname: "20010db8000000000000000000000001.addr.consul.", qtype: dns.TypeAAAA, answer: []string{
			"20010db8000000000000000000000001.addr.consul. 0 IN AAAA 2001:db8::1"}},
		{qname: "7f000001.addr.consul.", qtype: dns.TypeAAAA, ns: nx},
		{qname: "zz000001.addr.consul.", qtype: dns.TypeA, rcode: dns.RcodeNameError, ns: nx},

		{qname: "consul.", qtype: dns.TypeSOA, answer: []string{soaLine},
			ns: []string{"consul. 0 IN NS foo.node.dc1.consul."}, extra: []string{"foo.node.dc1.consul. 0 IN A 127.0.0.1"}},
		{qname: "consul.", qtype: dns.TypeNS, answer: []string{"consul. 0 IN NS foo.node.dc1.consul."},
			extra: []string{"foo.node.dc1.consul. 0 IN A 127.0.0.1"}},
		{qname: "consul.", qtype: dns.TypeA, ns: nx},
		{qname: "bogus.consul.", qtype: dns.TypeA, rcode: dns.RcodeNameError, ns: nx},
		{qname: "q.query.consul.", qtype: dns.TypeA, rcode: dns.RcodeNameError, ns: nx},
		{qname: "service.consul.", qtype: dns.TypeA, rcode: dns.RcodeNameError, ns: nx},

		{qname: "1.0.0.127.in-addr.arpa.", qtype: dns.TypePTR, answer: []string{"1.0.0.127.in-addr.arpa. 0 IN PTR foo.node.dc1.consul."}},
		{qname: "5.0.0.10.in-addr.arpa.", qtype: dns.TypePTR, answer: []string{"5.0.0.10.in-addr.arpa. 0 IN PTR db.service.dc1.consul."}},
		{qname: "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa.", qtype: dns.TypePTR, answer: []string{
			"1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa. 0 IN PTR six.node.dc1.consul."}},
		{qname: "9.9.9.9.in-addr.arpa.", qtype: dns.TypePTR, rcode: dns.RcodeNameError, ns: nx},

		{qname: "example.com.", qtype: dns.TypeA, rcode: dns.RcodeRefused},
	}
	runCases(t, ts, cases)

	// Flags: authoritative inside the domain, no recursion offered.
	r := ts.exchange(t, "udp", question("db.service.consul.", dns.TypeA))
	if !r.Authoritative || r.RecursionAvailable {
		t.Errorf("AA=%v RA=%v, want AA and no RA", r.Authoritative, r.RecursionAvailable)
	}
}

func TestDNS_OnlyPassing(t *testing.T) {
	st := newTestStore(t)
	seedCatalog(t, st)
	ts := startServer(t, Config{OnlyPassing: true, AllowStale: true}, lone(t, st))
	runCases(t, ts, []dnsCase{
		{qname: "api.service.consul.", qtype: dns.TypeSRV, rcode: dns.RcodeNameError, ns: []string{soaLine}},
		{qname: "primary.db.service.consul.", qtype: dns.TypeA, answer: []string{"primary.db.service.consul. 0 IN A 127.0.0.1"}},
	})
}

// Without AllowStale every read goes through Store.Query (leader check).
func TestDNS_ConsistentReads(t *testing.T) {
	st := newTestStore(t)
	seedCatalog(t, st)
	ts := startServer(t, Config{AllowStale: false}, lone(t, st))
	runCases(t, ts, []dnsCase{
		{qname: "primary.db.service.consul.", qtype: dns.TypeA, answer: []string{"primary.db.service.consul. 0 IN A 127.0.0.1"}},
		{qname: "foo.node.consul.", qtype: dns.TypeA, answer: []string{"foo.node.consul. 0 IN A 127.0.0.1"}},
		{qname: "1.0.0.127.in-addr.arpa.", qtype: dns.TypePTR, answer: []string{"1.0.0.127.in-addr.arpa. 0 IN PTR foo.node.dc1.consul."}},
	})
}

func TestDNS_TTLs(t *testing.T) {
	st := newTestStore(t)
	seedCatalog(t, st)
	ts := startServer(t, Config{AllowStale: true, NodeTTL: 30 * time.Second,
		ServiceTTL: map[string]time.Duration{"db": 10 * time.Second, "a*": 7 * time.Second, "*": 5 * time.Second}}, lone(t, st))
	runCases(t, ts, []dnsCase{
		{qname: "primary.db.service.consul.", qtype: dns.TypeSRV,
			answer: []string{"primary.db.service.consul. 10 IN SRV 1 1 12345 foo.node.dc1.consul."},
			extra:  []string{"foo.node.dc1.consul. 10 IN A 127.0.0.1"}},
		{qname: "api.service.consul.", qtype: dns.TypeA, answer: []string{"api.service.consul. 7 IN A 127.0.0.1"}},
		{qname: "v6svc.service.consul.", qtype: dns.TypeAAAA, answer: []string{"v6svc.service.consul. 5 IN AAAA 2001:db8::1"}},
		{qname: "foo.node.consul.", qtype: dns.TypeA, answer: []string{"foo.node.consul. 30 IN A 127.0.0.1"}},
	})
}

// Another domain, given without the trailing dot and in upper case.
func TestDNS_CustomDomain(t *testing.T) {
	st := newTestStore(t)
	seedCatalog(t, st)
	ts := startServer(t, Config{Domain: "Example.Internal", AllowStale: true}, lone(t, st))
	runCases(t, ts, []dnsCase{
		{qname: "primary.db.service.example.internal.", qtype: dns.TypeSRV,
			answer: []string{"primary.db.service.example.internal. 0 IN SRV 1 1 12345 foo.node.dc1.example.internal."},
			extra:  []string{"foo.node.dc1.example.internal. 0 IN A 127.0.0.1"}},
		{qname: "db.service.consul.", qtype: dns.TypeA, rcode: dns.RcodeRefused},
		{qname: "nosuch.node.example.internal.", qtype: dns.TypeA, rcode: dns.RcodeNameError, ns: []string{
			"example.internal. 0 IN SOA ns.example.internal. hostmaster.example.internal. 0 3600 600 86400 0"}},
	})
}

// Each lookup shuffles its answers.
func TestDNS_Shuffle(t *testing.T) {
	st := newTestStore(t)
	for i := range 8 {
		node := "n" + string(rune('a'+i))
		register(t, st, &structs.RegisterRequest{Node: node, Address: "127.0.2." + string(rune('1'+i)),
			Service: &structs.NodeService{ID: "s", Service: "shuf", Port: 1000}})
	}
	ts := startServer(t, Config{AllowStale: true}, lone(t, st))
	first := ""
	for range 50 {
		r := ts.exchange(t, "tcp", question("shuf.service.consul.", dns.TypeA))
		if len(r.Answer) != 8 {
			t.Fatalf("answers = %d, want 8", len(r.Answer))
		}
		got := r.Answer[0].String()
		if first == "" {
			first = got
		} else if got != first {
			return
		}
	}
	t.Fatal("first answer never changed in 50 queries")
}
