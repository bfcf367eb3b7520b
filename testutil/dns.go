package testutil

import (
	"net"
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

// UDPServer listens on a loopback UDP port until the test ends (or the
// returned conn is closed), answering every datagram with reply (nil:
// reading and never answering).
func UDPServer(t testing.TB, reply []byte) net.PacketConn {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	go func() {
		buf := make([]byte, 64)
		for {
			_, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			if reply != nil {
				_, _ = pc.WriteTo(reply, from)
			}
		}
	}()
	return pc
}
