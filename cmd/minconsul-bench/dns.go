package main

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"os"
	"sync/atomic"
	"time"

	"github.com/miekg/dns"
	"github.com/minconsul/minconsul/cmd/minconsul/wire"
	"github.com/minconsul/minconsul/structs"
)

// SRVName is the name the DNS measurement asks for.
const SRVName = "web.service.consul."

// DNSTarget is a -dev agent with service "web" registered plus a bare
// miekg/dns server replaying the agent's SRV reply.
type DNSTarget struct {
	Agent     *wire.Agent
	AgentAddr string
	BareAddr  string
	Reply     *dns.Msg // the agent's answer to SRVName SRV
	bare      *dns.Server
}

// SetupDNS starts the agent, registers the service, waits until DNS
// answers it and starts the baseline.
func SetupDNS(ctx context.Context, o Options) (*DNSTarget, error) {
	o = o.withDefaults()
	a, err := StartAgent(ctx, DevConfig("bench-dns"), o.Logger)
	if err != nil {
		return nil, err
	}
	t := &DNSTarget{Agent: a, AgentAddr: a.DNSAddr()}
	err = a.ServiceRegister(ctx, &structs.ServiceDefinition{ID: "web1", Name: "web", Port: 8080, Tags: []string{"v1"}}, false)
	if err != nil {
		t.Close()
		return nil, fmt.Errorf("register web: %w", err)
	}
	// The registration reaches the catalog through anti-entropy: poll.
	deadline := time.Now().Add(10 * time.Second)
	q := new(dns.Msg)
	q.SetQuestion(SRVName, dns.TypeSRV)
	c := &dns.Client{Net: "udp", Timeout: time.Second}
	for {
		r, _, err := c.ExchangeContext(ctx, q, t.AgentAddr)
		if err == nil && r.Rcode == dns.RcodeSuccess && len(r.Answer) > 0 {
			t.Reply = r
			break
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			t.Close()
			return nil, fmt.Errorf("no SRV answer for %s from %s: %v %v", SRVName, t.AgentAddr, r, err)
		}
		time.Sleep(10 * time.Millisecond) // poll interval, bounded by the deadline
	}
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Close()
		return nil, err
	}
	reply := t.Reply
	started := make(chan struct{})
	t.bare = &dns.Server{PacketConn: pc, NotifyStartedFunc: func() { close(started) },
		Handler: dns.HandlerFunc(func(w dns.ResponseWriter, req *dns.Msg) {
			// Built per query like the agent does; the RRs are shared
			// read-only.
			m := new(dns.Msg)
			m.SetReply(req)
			m.Authoritative = reply.Authoritative
			m.RecursionAvailable = reply.RecursionAvailable
			m.Answer, m.Ns, m.Extra = reply.Answer, reply.Ns, reply.Extra
			_ = w.WriteMsg(m)
		})}
	go func() { _ = t.bare.ActivateAndServe() }()
	select {
	case <-started:
	case <-time.After(5 * time.Second):
		t.Close()
		return nil, errors.New("bare dns server did not start")
	}
	t.BareAddr = pc.LocalAddr().String()
	return t, nil
}

// Close stops the baseline and the agent.
func (t *DNSTarget) Close() {
	if t.bare != nil {
		_ = t.bare.Shutdown()
	}
	if t.Agent != nil {
		_ = t.Agent.Shutdown()
	}
}

// DNSClient sends one query at a time over its own UDP socket, with the
// query packed once and only its ID changed per request.
type DNSClient struct {
	conn     *net.UDPConn
	query    []byte
	buf      []byte
	id       uint16
	Timeouts *atomic.Int64 // resends after a lost packet (may be shared)
}

// NewDNSClient dials addr and prepares a qtype query for name.
func NewDNSClient(addr, name string, qtype uint16, seed uint16) (*DNSClient, error) {
	ua, err := net.ResolveUDPAddr("udp", addr)
	if err != nil {
		return nil, err
	}
	conn, err := net.DialUDP("udp", nil, ua)
	if err != nil {
		return nil, err
	}
	q := new(dns.Msg)
	q.SetQuestion(name, qtype)
	b, err := q.Pack()
	if err != nil {
		conn.Close()
		return nil, err
	}
	return &DNSClient{conn: conn, query: b, buf: make([]byte, 4096), id: seed * 4099, Timeouts: new(atomic.Int64)}, nil
}

// Close closes the socket.
func (c *DNSClient) Close() { c.conn.Close() }

// Do sends the query and waits for the matching answer with rcode NOERROR
// and at least one answer record; a lost packet is resent.
func (c *DNSClient) Do() error {
	for tries := 0; tries < 5; tries++ {
		c.id++
		binary.BigEndian.PutUint16(c.query, c.id)
		if _, err := c.conn.Write(c.query); err != nil {
			return err
		}
		if err := c.conn.SetReadDeadline(time.Now().Add(time.Second)); err != nil {
			return err
		}
		for {
			n, err := c.conn.Read(c.buf)
			if err != nil {
				var ne net.Error
				if errors.As(err, &ne) && ne.Timeout() || errors.Is(err, os.ErrDeadlineExceeded) {
					c.Timeouts.Add(1)
					break // resend
				}
				return err
			}
			if n < 12 || binary.BigEndian.Uint16(c.buf) != c.id {
				continue // a late answer to an earlier, resent query
			}
			if rcode := c.buf[3] & 0x0f; rcode != dns.RcodeSuccess {
				return fmt.Errorf("rcode %s", dns.RcodeToString[int(rcode)])
			}
			if binary.BigEndian.Uint16(c.buf[6:]) == 0 {
				return errors.New("no answer records")
			}
			return nil
		}
	}
	return errNoAnswer
}

// LoadDNS runs conc clients against addr and returns queries/s and the
// number of resends.
func LoadDNS(ctx context.Context, addr string, conc int, warm, d time.Duration) (float64, int64, error) {
	var timeouts atomic.Int64
	rate, err := Load(ctx, conc, warm, d, func(w int) (func() error, func()) {
		c, err := NewDNSClient(addr, SRVName, dns.TypeSRV, uint16(w+1))
		if err != nil {
			return func() error { return err }, nil
		}
		c.Timeouts = &timeouts
		return c.Do, c.Close
	})
	return rate, timeouts.Load(), err
}

// DNSSRV measures SRV queries over UDP on the agent and on the bare replay
// with the same client loop, in alternating rounds, and reports agent/bare.
func DNSSRV(ctx context.Context, o Options) (Result, error) {
	o = o.withDefaults()
	t, err := SetupDNS(ctx, o)
	if err != nil {
		return Result{}, err
	}
	defer t.Close()
	var agentLost, bareLost int64
	stopProfile := o.profile("dns") // covers the bare rounds too
	agentRate, bareRate, err := Alternate(ctx, 4, o.Warmup, o.Duration,
		func(warm, d time.Duration) (float64, error) {
			r, lost, err := LoadDNS(ctx, t.AgentAddr, o.Concurrency, warm, d)
			agentLost += lost
			if err != nil {
				err = fmt.Errorf("agent DNS: %w", err)
			}
			return r, err
		},
		func(warm, d time.Duration) (float64, error) {
			r, lost, err := LoadDNS(ctx, t.BareAddr, o.Concurrency, warm, d)
			bareLost += lost
			if err != nil {
				err = fmt.Errorf("bare DNS: %w", err)
			}
			return r, err
		})
	stopProfile()
	if err != nil {
		return Result{}, err
	}
	r := Result{
		Name: fmt.Sprintf("dns-srv-udp c=%d", o.Concurrency), Figure: agentRate, Unit: "qps",
		Baseline: bareRate, Ratio: ratio(agentRate, bareRate), Target: "ratio >= 0.70",
	}
	r.Pass = r.Ratio >= 0.70
	if agentLost+bareLost > 0 {
		r.Note = fmt.Sprintf("resends agent=%d bare=%d", agentLost, bareLost)
	}
	return r, nil
}
