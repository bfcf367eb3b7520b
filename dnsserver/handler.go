package dnsserver

import (
	"errors"
	"net"
	"strings"
	"time"

	"github.com/miekg/dns"
)

// Errors a lookup returns; rcodeFor maps them (and any store error) to a
// response code.
var (
	errNameNotFound   = errors.New("dns name not found")
	errNoData         = errors.New("no records of the requested type")
	errRefused        = errors.New("query refused")
	errNotImplemented = errors.New("not implemented")
	errFormat         = errors.New("malformed query")
	errServFail       = errors.New("server failure")
)

// rcodeFor is the one place errors become rcodes. soa tells whether the
// zone's SOA goes to the authority section (negative answers, RFC 2308).
func rcodeFor(err error) (rcode int, soa bool) {
	switch {
	case err == nil:
		return dns.RcodeSuccess, false
	case errors.Is(err, errNoData):
		return dns.RcodeSuccess, true
	case errors.Is(err, errNameNotFound):
		return dns.RcodeNameError, true
	case errors.Is(err, errRefused):
		return dns.RcodeRefused, false
	case errors.Is(err, errNotImplemented):
		return dns.RcodeNotImplemented, false
	case errors.Is(err, errFormat):
		return dns.RcodeFormatError, false
	default:
		return dns.RcodeServerFailure, false
	}
}

var (
	keyDomainQuery = []string{"dns", "domain_query"}
	keyPTRQuery    = []string{"dns", "ptr_query"}
)

// ServeDNS implements dns.Handler.
func (s *Server) ServeDNS(w dns.ResponseWriter, req *dns.Msg) {
	_, tcp := w.RemoteAddr().(*net.TCPAddr)
	m := s.answer(req, tcp)
	if m == nil {
		return
	}
	if err := w.WriteMsg(m); err != nil {
		s.logger.Warn("failed to respond", "error", err)
	}
}

// answer computes the reply to one request; nil means send nothing.
func (s *Server) answer(req *dns.Msg, tcp bool) *dns.Msg {
	if req == nil || req.Response {
		return nil
	}
	// The miekg server already rejects qdcount != 1 with FORMERR (its
	// default accept func); check again so the handler is safe alone.
	if len(req.Question) != 1 {
		return s.errorReply(req, errFormat)
	}
	if req.Opcode != dns.OpcodeQuery {
		return s.errorReply(req, errNotImplemented)
	}
	q := &req.Question[0]
	name := lowerName(q.Name)
	if s.logger.IsDebug() {
		s.logger.Debug("request", "name", q.Name, "type", dns.TypeToString[q.Qtype], "tcp", tcp)
	}
	switch {
	case name == s.domain || strings.HasSuffix(name, s.dotDom):
		return s.domainQuery(req, q, name, tcp)
	case name == "arpa." || strings.HasSuffix(name, ".arpa."):
		return s.ptrQuery(req, q, name, tcp)
	default:
		return s.recurse(req, tcp)
	}
}

// domainQuery answers a name inside the domain.
func (s *Server) domainQuery(req *dns.Msg, q *dns.Question, name string, tcp bool) *dns.Msg {
	if s.domainTimer != nil {
		defer s.domainTimer.Since(time.Now())
	}
	var (
		rec records
		ns  []dns.RR
		err error
	)
	switch q.Qtype {
	case dns.TypeSOA:
		// Any name in the zone gets the SOA, with our NS in authority.
		rec.answer, rec.glue = []dns.RR{s.soa()}, []dns.RR{nil}
		nsRec := s.nameservers()
		ns = nsRec.answer
		for _, g := range nsRec.glue {
			if g != nil {
				rec.glue[0] = g
			}
		}
	case dns.TypeNS:
		rec = s.nameservers()
		if len(rec.answer) == 0 {
			err = errNoData
		}
	case dns.TypeAXFR, dns.TypeIXFR:
		err = errNotImplemented
	default:
		l, ok := parseName(name, q.Qtype, s.domain, s.dotDom)
		if !ok {
			err = errNameNotFound
			break
		}
		switch l.kind {
		case kindApex:
			err = errNoData
		case kindService:
			rec, err = s.serviceLookup(q, &l)
		case kindNode:
			rec, err = s.nodeLookup(q, &l)
		case kindAddr:
			rec, err = s.addrLookup(q, &l)
		default:
			err = errNameNotFound
		}
	}
	m := s.reply(req)
	m.Answer = rec.answer
	m.Ns = ns
	s.setError(req, m, err)
	s.finish(req, m, rec.glue, tcp)
	return m
}

// ptrQuery answers reverse lookups of catalog addresses; unknown ones go to
// the recursors when there are some, as Consul.
func (s *Server) ptrQuery(req *dns.Msg, q *dns.Question, name string, tcp bool) *dns.Msg {
	if s.ptrTimer != nil {
		defer s.ptrTimer.Since(time.Now())
	}
	rec, err := s.ptrLookup(q, name)
	if errors.Is(err, errNameNotFound) && len(s.recursors) > 0 {
		return s.recurse(req, tcp)
	}
	m := s.reply(req)
	m.Answer = rec.answer
	s.setError(req, m, err)
	s.finish(req, m, nil, tcp)
	return m
}

// reply starts an authoritative response to req.
func (s *Server) reply(req *dns.Msg) *dns.Msg {
	m := new(dns.Msg)
	m.SetReply(req)
	m.Authoritative = true
	m.RecursionAvailable = len(s.recursors) > 0
	m.Compress = true
	return m
}

// setError applies rcodeFor's verdict to m.
func (s *Server) setError(req, m *dns.Msg, err error) {
	rcode, soa := rcodeFor(err)
	if rcode == dns.RcodeServerFailure {
		s.logger.Error("DNS lookup failed", "question", req.Question[0].Name, "error", err)
	}
	m.Rcode = rcode
	if soa {
		m.Answer = nil
		m.Ns = append(m.Ns[:0], s.soa())
	}
}

// errorReply is a bare reply carrying err's rcode (no authority data).
func (s *Server) errorReply(req *dns.Msg, err error) *dns.Msg {
	m := new(dns.Msg)
	m.SetRcode(req, dns.RcodeSuccess)
	m.Question = nil
	if len(req.Question) == 1 {
		m.Question = req.Question
	}
	m.RecursionAvailable = len(s.recursors) > 0
	rcode, _ := rcodeFor(err)
	m.Rcode = rcode
	if opt := req.IsEdns0(); opt != nil {
		m.Extra = append(m.Extra, echoOPT(opt))
	}
	return m
}

// echoOPT answers an EDNS0 query with an OPT of its own advertising the
// client's buffer size (as Consul), capped to what we accept.
func echoOPT(reqOPT *dns.OPT) *dns.OPT {
	o := &dns.OPT{Hdr: dns.RR_Header{Name: ".", Rrtype: dns.TypeOPT}}
	size := reqOPT.UDPSize()
	if size < dns.MinMsgSize {
		size = dns.MinMsgSize
	}
	o.SetUDPSize(size)
	return o
}
