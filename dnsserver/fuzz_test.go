package dnsserver

import (
	"context"
	"net"
	"testing"

	"github.com/miekg/dns"

	"github.com/minconsul/minconsul/structs"
)

// fakeStore serves a fixed catalog, for tests that need no Raft; the
// reads DNS does not make are left to the nil Store it embeds.
type fakeStore struct {
	Store
	nodes structs.Nodes
	csns  map[string]structs.CheckServiceNodes
}

func indexed[T any](v T) (*structs.Indexed[T], error) {
	return &structs.Indexed[T]{Value: v, QueryMeta: structs.QueryMeta{Index: 1}}, nil
}

func (f fakeStore) GetNode(_ context.Context, req *structs.NodeSpecificRequest) (*structs.Indexed[*structs.Node], error) {
	for _, n := range f.nodes {
		if n.Node == req.Node {
			return indexed(n)
		}
	}
	return indexed[*structs.Node](nil)
}

func (f fakeStore) Nodes(context.Context, *structs.DCSpecificRequest) (*structs.Indexed[structs.Nodes], error) {
	return indexed(f.nodes)
}

func (f fakeStore) Services(context.Context, *structs.DCSpecificRequest) (*structs.Indexed[map[string][]string], error) {
	out := map[string][]string{}
	for k := range f.csns {
		out[k] = nil
	}
	return indexed(out)
}

func (f fakeStore) CheckServiceNodes(_ context.Context, req *structs.ServiceSpecificRequest) (*structs.Indexed[structs.CheckServiceNodes], error) {
	return indexed(f.csns[req.ServiceName])
}

func newFakeStore() fakeStore {
	foo := &structs.Node{Node: "foo", Address: "127.0.0.1", Meta: map[string]string{"k": "v"}}
	six := &structs.Node{Node: "six", Address: "2001:db8::1"}
	host := &structs.Node{Node: "host", Address: "host.example.com"}
	return fakeStore{
		nodes: structs.Nodes{foo, six, host},
		csns: map[string]structs.CheckServiceNodes{
			"web": {
				{Node: foo, Service: &structs.NodeService{ID: "w1", Service: "web", Port: 80}},
				{Node: six, Service: &structs.NodeService{ID: "w2", Service: "web", Port: 81, Address: "10.1.1.1"}},
				{Node: host, Service: &structs.NodeService{ID: "w3", Service: "web", Port: 82}},
				{Node: foo, Service: &structs.NodeService{ID: "w4", Service: "web", Port: 83, Address: "svc.example.com"},
					Checks: structs.HealthChecks{{Status: structs.HealthWarning}}},
			},
		},
	}
}

// FuzzServeDNS feeds raw bytes as a query through the handler path (what
// the miekg server does after unpacking) over both transports.
func FuzzServeDNS(f *testing.F) {
	s, err := New(Config{Datacenter: "dc1", NodeName: "foo", AllowStale: true}, newFakeStore(), nil)
	if err != nil {
		f.Fatal(err)
	}
	for _, q := range []struct {
		name  string
		qtype uint16
	}{
		{"web.service.consul.", dns.TypeSRV}, {"web.service.consul.", dns.TypeA}, {"_web._tcp.consul.", dns.TypeSRV},
		{"foo.node.consul.", dns.TypeANY}, {"1.0.0.127.in-addr.arpa.", dns.TypePTR}, {"consul.", dns.TypeSOA},
		{"example.com.", dns.TypeA}, {"7f000001.addr.consul.", dns.TypeA},
	} {
		m := question(q.name, q.qtype)
		b, _ := m.Pack()
		f.Add(b)
		m.SetEdns0(600, false)
		b, _ = m.Pack()
		f.Add(b)
	}
	f.Add([]byte{})
	f.Add([]byte{0, 1, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		req := new(dns.Msg)
		if err := req.Unpack(data); err != nil {
			return // the miekg server answers FORMERR itself
		}
		for _, tcp := range []bool{false, true} {
			m := s.answer(req, tcp)
			if m == nil {
				continue
			}
			if _, err := m.Pack(); err != nil {
				t.Fatalf("reply does not pack: %v\n%v", err, m)
			}
		}
	})
}

// The miekg server's own checks (qdcount != 1, garbage) answer FORMERR.
func TestDNS_Malformed(t *testing.T) {
	ts := startServer(t, Config{AllowStale: true}, newFakeStore())
	conn, err := net.Dial("udp", ts.udpAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	c := &dns.Conn{Conn: conn}

	two := question("web.service.consul.", dns.TypeA)
	two.Question = append(two.Question, two.Question[0])
	if err := c.WriteMsg(two); err != nil {
		t.Fatal(err)
	}
	r, err := c.ReadMsg()
	if err != nil {
		t.Fatal(err)
	}
	if r.Rcode != dns.RcodeFormatError {
		t.Errorf("qdcount 2: rcode %s, want FORMERR", dns.RcodeToString[r.Rcode])
	}

	// A header claiming one question with none following.
	if _, err := conn.Write([]byte{0x12, 0x34, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0}); err != nil {
		t.Fatal(err)
	}
	r, err = c.ReadMsg()
	if err != nil {
		t.Fatal(err)
	}
	if r.Rcode != dns.RcodeFormatError {
		t.Errorf("truncated question: rcode %s, want FORMERR", dns.RcodeToString[r.Rcode])
	}

	// The server is still alive.
	r = ts.exchange(t, "udp", question("web.service.consul.", dns.TypeA))
	if r.Rcode != dns.RcodeSuccess {
		t.Errorf("after garbage: %v", r)
	}

	// The handler alone also guards against zero questions and other opcodes.
	empty := new(dns.Msg)
	if m := ts.answer(empty, false); m.Rcode != dns.RcodeFormatError {
		t.Errorf("no question: rcode %s", dns.RcodeToString[m.Rcode])
	}
	notify := question("consul.", dns.TypeSOA)
	notify.Opcode = dns.OpcodeNotify
	if m := ts.answer(notify, false); m.Rcode != dns.RcodeNotImplemented {
		t.Errorf("NOTIFY: rcode %s", dns.RcodeToString[m.Rcode])
	}
}

func TestServer_ShutdownIdempotent(t *testing.T) {
	ts := startServer(t, Config{AllowStale: true}, newFakeStore())
	ts.Shutdown()
	ts.Shutdown()
	if err := ts.Start(nil, nil); err == nil {
		t.Error("Start after Shutdown succeeded")
	}
	// Never started: Shutdown is fine too.
	s, err := New(Config{Datacenter: "dc1"}, newFakeStore(), nil)
	if err != nil {
		t.Fatal(err)
	}
	s.Shutdown()
}

// A socket that cannot be served makes Start fail instead of hanging.
func TestServer_StartOnClosedSocket(t *testing.T) {
	s, err := New(Config{Datacenter: "dc1"}, newFakeStore(), testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln.Close()
	// The TCP loop starts, then Accept fails on the closed listener; either
	// Start reports it or the loop ends: neither may hang.
	_ = s.Start(nil, ln)
	s.Shutdown()
}
