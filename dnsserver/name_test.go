package dnsserver

import (
	"net"
	"strings"
	"testing"

	"github.com/miekg/dns"
)

func TestParseName(t *testing.T) {
	cases := []struct {
		name  string
		qtype uint16
		ok    bool
		want  lookup
	}{
		{"consul.", dns.TypeA, true, lookup{kind: kindApex}},
		{"web.service.consul.", dns.TypeA, true, lookup{kind: kindService, service: "web"}},
		{"web.service.dc1.consul.", dns.TypeA, true, lookup{kind: kindService, service: "web", dc: "dc1"}},
		{"web.service.dc1.dc.consul.", dns.TypeA, true, lookup{kind: kindService, service: "web", dc: "dc1"}},
		{"v1.web.service.consul.", dns.TypeSRV, true, lookup{kind: kindService, service: "web", tag: "v1"}},
		{"a.b.web.service.consul.", dns.TypeSRV, true, lookup{kind: kindService, service: "web", tag: "a.b"}},
		{"_web._v1.service.consul.", dns.TypeSRV, true, lookup{kind: kindService, service: "web", tag: "v1"}},
		{"_web._tcp.service.consul.", dns.TypeSRV, true, lookup{kind: kindService, service: "web"}},
		{"_web._tcp.consul.", dns.TypeSRV, true, lookup{kind: kindService, service: "web"}},
		{"_web._tcp.dc2.consul.", dns.TypeSRV, true, lookup{kind: kindService, service: "web", dc: "dc2"}},
		{"_web._tcp.consul.", dns.TypeA, false, lookup{}},
		{"foo.node.consul.", dns.TypeA, true, lookup{kind: kindNode, node: "foo"}},
		{"foo.bar.node.dc3.consul.", dns.TypeA, true, lookup{kind: kindNode, node: "foo.bar", dc: "dc3"}},
		{"node.consul.", dns.TypeA, false, lookup{}},
		{"service.consul.", dns.TypeA, false, lookup{}},
		{"x.service.a.b.consul.", dns.TypeA, false, lookup{}},
		{"x.query.consul.", dns.TypeA, false, lookup{}},
		{"x.connect.consul.", dns.TypeA, false, lookup{}},
		{"7f000001.addr.consul.", dns.TypeA, true, lookup{kind: kindAddr, addr: net.IP{127, 0, 0, 1}}},
		{"7f00001.addr.consul.", dns.TypeA, false, lookup{}},
		{"zz000001.addr.consul.", dns.TypeA, false, lookup{}},
		{"bogus.consul.", dns.TypeA, false, lookup{}},
		{"example.com.", dns.TypeA, false, lookup{}},
		{"", dns.TypeA, false, lookup{}},
		{".", dns.TypeA, false, lookup{}},
		{".consul.", dns.TypeA, false, lookup{}},
	}
	for _, tc := range cases {
		got, ok := parseName(tc.name, tc.qtype, "consul.", ".consul.")
		if ok != tc.ok || got.kind != tc.want.kind || got.service != tc.want.service || got.tag != tc.want.tag ||
			got.node != tc.want.node || got.dc != tc.want.dc || !got.addr.Equal(tc.want.addr) {
			t.Errorf("parseName(%q) = %+v, %v; want %+v, %v", tc.name, got, ok, tc.want, tc.ok)
		}
	}
}

func TestParseName_NoAllocs(t *testing.T) {
	allocs := testing.AllocsPerRun(100, func() {
		_, _ = parseName("_web._tcp.service.dc1.consul.", dns.TypeSRV, "consul.", ".consul.")
		_ = lowerName("web.service.consul.")
	})
	if allocs != 0 {
		t.Errorf("parseName allocates %v times", allocs)
	}
}

func TestIPFromARPA(t *testing.T) {
	for _, ip := range []string{"127.0.0.1", "10.0.0.5", "2001:db8::1", "::1", "fe80::1:2:3:4"} {
		arpa, err := dns.ReverseAddr(ip)
		if err != nil {
			t.Fatal(err)
		}
		got := ipFromARPA(arpa)
		if !got.Equal(net.ParseIP(ip)) {
			t.Errorf("ipFromARPA(%q) = %v, want %s", arpa, got, ip)
		}
	}
	for _, bad := range []string{"in-addr.arpa.", "1.2.3.in-addr.arpa.", "1.2.3.4.5.in-addr.arpa.", "256.0.0.1.in-addr.arpa.",
		"01.0.0.1.in-addr.arpa.", "x.0.0.1.in-addr.arpa.", "1.ip6.arpa.", "arpa."} {
		if got := ipFromARPA(bad); got != nil {
			t.Errorf("ipFromARPA(%q) = %v, want nil", bad, got)
		}
	}
}

func TestRFC1464(t *testing.T) {
	for _, tc := range [][3]string{
		{"rack", "r1", "rack=r1"},
		{"a=b", "c", "a`=b=c"},
		{"  lead", "v", "` ` lead=v"},
		{"trail ", "v`", "trail` =v``"},
		{"   ", "v", "` ` ` =v"},
	} {
		if got := rfc1464(tc[0], tc[1]); got != tc[2] {
			t.Errorf("rfc1464(%q, %q) = %q, want %q", tc[0], tc[1], got, tc[2])
		}
	}
}

// FuzzParseName: no input panics, and what parses is consistent.
func FuzzParseName(f *testing.F) {
	for _, s := range []string{"web.service.consul.", "_web._tcp.consul.", "a.b.node.dc1.dc.consul.", "7f000001.addr.consul.",
		"consul.", ".", "", "..consul.", "_._.service.consul.", "20010db8000000000000000000000001.addr.x.consul."} {
		f.Add(s, dns.TypeSRV)
		f.Add(s, dns.TypeA)
	}
	f.Fuzz(func(t *testing.T, name string, qtype uint16) {
		name = strings.ToLower(name)
		l, ok := parseName(name, qtype, "consul.", ".consul.")
		if !ok {
			return
		}
		switch l.kind {
		case kindService:
			if l.service == "" {
				t.Fatalf("%q: empty service", name)
			}
		case kindNode:
			if l.node == "" {
				t.Fatalf("%q: empty node", name)
			}
		case kindAddr:
			if len(l.addr) != 4 && len(l.addr) != 16 {
				t.Fatalf("%q: address %v", name, l.addr)
			}
		case kindApex:
			if name != "consul." {
				t.Fatalf("%q parsed as the apex", name)
			}
		default:
			t.Fatalf("%q: ok with kind %d", name, l.kind)
		}
		_ = ipFromARPA(name)
	})
}
