package dnsserver

import (
	"context"
	"github.com/minconsul/minconsul/testutil"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/miekg/dns"

	"github.com/minconsul/minconsul/backend"
	"github.com/minconsul/minconsul/raftstore"
	"github.com/minconsul/minconsul/structs"
)

// The real backend must satisfy the interface this package reads through.
var _ Store = (*backend.Backend)(nil)

// lone is the backend of a lone server on st: every read runs there.
func lone(t testing.TB, st *raftstore.Store) *backend.Backend {
	b := backend.New(backend.Config{Store: st})
	t.Cleanup(b.Close)
	return b
}

func testLogger(t testing.TB) hclog.Logger { return testutil.Logger(t, "dns") }

// newTestStore starts a Dev raftstore with a leader.
func newTestStore(t testing.TB) *raftstore.Store {
	t.Helper()
	return newTestStoreWithLogger(t, testLogger(t).Named("raft"))
}

func newTestStoreWithLogger(t testing.TB, logger hclog.Logger) *raftstore.Store {
	t.Helper()
	st, err := raftstore.New(raftstore.Config{Dev: true, NodeID: "11111111-2222-3333-4444-555555555555", NodeName: "node1"},
		logger)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := st.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Shutdown() })
	if err := st.WaitForLeader(ctx); err != nil {
		t.Fatal(err)
	}
	return st
}

func register(t testing.TB, st *raftstore.Store, req *structs.RegisterRequest) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if req.Datacenter == "" {
		req.Datacenter = "dc1"
	}
	if _, _, err := st.Apply(ctx, structs.Command{Type: structs.CatalogRegister, Register: req}); err != nil {
		t.Fatalf("register %s: %v", req.Node, err)
	}
}

// serfCheck is the node-level check every member carries.
func serfCheck(node, status string) *structs.HealthCheck {
	return &structs.HealthCheck{Node: node, CheckID: structs.SerfCheckID, Name: structs.SerfCheckName, Status: status}
}

func svcCheck(node, id, svcID, status string) *structs.HealthCheck {
	return &structs.HealthCheck{Node: node, CheckID: id, Name: id, Status: status, ServiceID: svcID}
}

// testServer is a running DNS server on loopback, UDP and TCP.
type testServer struct {
	*Server
	udpAddr, tcpAddr string
}

func startServer(t testing.TB, cfg Config, store Store) *testServer {
	t.Helper()
	if cfg.Datacenter == "" {
		cfg.Datacenter = "dc1"
	}
	if cfg.NodeName == "" {
		cfg.NodeName = "foo"
	}
	s, err := New(cfg, store, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(pc, ln); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Shutdown)
	return &testServer{Server: s, udpAddr: pc.LocalAddr().String(), tcpAddr: ln.Addr().String()}
}

// exchange sends m over network ("udp" or "tcp").
func (ts *testServer) exchange(t testing.TB, network string, m *dns.Msg) *dns.Msg {
	t.Helper()
	c := &dns.Client{Net: network, Timeout: 5 * time.Second}
	addr := ts.udpAddr
	if network == "tcp" {
		addr = ts.tcpAddr
	}
	r, _, err := c.Exchange(m, addr)
	if err != nil {
		t.Fatalf("%s %s: %v", network, m.Question[0].String(), err)
	}
	return r
}

func question(name string, qtype uint16) *dns.Msg {
	m := new(dns.Msg)
	m.SetQuestion(name, qtype)
	return m
}

// rrStrings renders records with TTL and serial-free SOA so tables can
// compare them; the order is normalised because answers are shuffled.
func rrStrings(rrs []dns.RR) []string {
	out := make([]string, 0, len(rrs))
	for _, rr := range rrs {
		if rr.Header().Rrtype == dns.TypeOPT {
			continue
		}
		if soa, ok := rr.(*dns.SOA); ok {
			c := *soa
			c.Serial = 0
			rr = &c
		}
		out = append(out, strings.ReplaceAll(rr.String(), "\t", " "))
	}
	slices.Sort(out)
	return out
}
