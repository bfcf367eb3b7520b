package testutil

import (
	"testing"
	"time"

	"github.com/miekg/dns"
)

// DNSQuery asks the DNS server at addr one question over UDP and fails the
// test when no answer comes.
func DNSQuery(t testing.TB, addr, name string, qtype uint16) *dns.Msg {
	t.Helper()
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(name), qtype)
	r, _, err := (&dns.Client{Timeout: 2 * time.Second}).Exchange(m, addr)
	if err != nil {
		t.Fatalf("dns %s: %v", name, err)
	}
	return r
}
