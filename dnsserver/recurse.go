package dnsserver

import (
	"github.com/miekg/dns"
)

// recurse forwards a name outside the domain to the recursors, in order,
// over the client's protocol. Without recursors the server is not an open
// resolver: REFUSED. When none gives a usable answer (an error, or an rcode
// other than NOERROR/NXDOMAIN): SERVFAIL.
func (s *Server) recurse(req *dns.Msg, tcp bool) *dns.Msg {
	if len(s.recursors) == 0 {
		return s.errorReply(req, errRefused)
	}
	c := s.udpClient
	if tcp {
		c = s.tcpClient
	}
	for _, addr := range s.recursors {
		r, rtt, err := c.ExchangeContext(s.ctx, req, addr)
		if err != nil {
			s.logger.Warn("recursor failed", "recursor", addr, "question", req.Question[0].Name, "error", err)
			continue
		}
		if r.Rcode != dns.RcodeSuccess && r.Rcode != dns.RcodeNameError {
			if s.logger.IsDebug() {
				s.logger.Debug("recursor answered with an error", "recursor", addr,
					"question", req.Question[0].Name, "rcode", dns.RcodeToString[r.Rcode])
			}
			continue
		}
		if s.logger.IsDebug() {
			s.logger.Debug("recursed", "recursor", addr, "question", req.Question[0].Name, "rtt", rtt)
		}
		r.Id = req.Id
		r.Compress = true
		return r
	}
	s.logger.Error("all recursors failed", "question", req.Question[0].Name)
	m := s.errorReply(req, errServFail)
	m.RecursionAvailable = true
	return m
}
