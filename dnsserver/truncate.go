package dnsserver

import (
	"math"

	"github.com/miekg/dns"
)

const (
	// defaultUDPSize is the classic limit for clients without EDNS0.
	defaultUDPSize = dns.MinMsgSize
	// maxUDPSize caps an EDNS0 buffer size: a datagram larger than this
	// cannot leave the host (IP and UDP headers), as Consul.
	maxUDPSize = math.MaxUint16 - 68
	// maxTCPSize is the largest DNS message.
	maxTCPSize = dns.MaxMsgSize
)

// finish sets the additional section (glue for the answers kept, then the
// echoed OPT) and fits the message to the transport, Consul's way:
//   - UDP without EDNS0: at most UDPAnswerLimit answers (3 by default);
//   - UDP: no more than the client's buffer (512 without EDNS0);
//   - TCP: no more than 64 KiB.
//
// Answers are dropped from the end, with their glue. TC is set when
// answers were dropped over UDP and EnableTruncate is on (as Consul), and
// always when not even one answer fits.
func (s *Server) finish(req, m *dns.Msg, glue []dns.RR, tcp bool) {
	reqOPT := req.IsEdns0()
	var opt *dns.OPT
	if reqOPT != nil {
		opt = echoOPT(reqOPT)
	}
	maxSize := maxTCPSize
	if !tcp {
		maxSize = defaultUDPSize
		if reqOPT != nil {
			if size := int(reqOPT.UDPSize()); size > maxSize {
				maxSize = size
			}
		}
		if maxSize > maxUDPSize {
			maxSize = maxUDPSize
		}
	}

	total := len(m.Answer)
	n := total
	if !tcp && reqOPT == nil && n > s.answerLt {
		n = s.answerLt
	}
	// The usual case: everything fits and every answer has its own glue,
	// which then is the additional section as it is.
	if n == total && opt == nil && !hasNil(glue) && len(glue) == n {
		m.Extra = glue
		if fits(m, maxSize) {
			return
		}
	}
	// Reuse one backing array for every candidate additional section.
	extra := make([]dns.RR, 0, len(glue)+1)
	setPrefix(m, n, glue, opt, extra)

	if !fits(m, maxSize) && n > 1 {
		// Largest prefix that fits: fits(lo) may be false only for lo == 1.
		lo, hi := 1, n-1
		for lo < hi {
			mid := lo + (hi-lo+1)/2
			setPrefix(m, mid, glue, opt, extra)
			if fits(m, maxSize) {
				lo = mid
			} else {
				hi = mid - 1
			}
		}
		n = lo
		setPrefix(m, n, glue, opt, extra)
	}
	if !fits(m, maxSize) {
		// A single answer too large (or a huge SOA/NS): drop everything but
		// the OPT and let the client retry over TCP.
		m.Answer, m.Ns = nil, nil
		m.Extra = m.Extra[:0]
		if opt != nil {
			m.Extra = append(m.Extra, opt)
		}
		m.Truncated = true
		return
	}
	if n < total && !tcp && s.cfg.EnableTruncate {
		m.Truncated = true
	}
}

func hasNil(rrs []dns.RR) bool {
	for _, rr := range rrs {
		if rr == nil {
			return true
		}
	}
	return false
}

// setPrefix keeps the first n answers and the glue they need.
func setPrefix(m *dns.Msg, n int, glue []dns.RR, opt *dns.OPT, extra []dns.RR) {
	m.Answer = m.Answer[:n]
	extra = extra[:0]
	if n > len(glue) {
		n = len(glue)
	}
	for _, g := range glue[:n] {
		if g != nil {
			extra = append(extra, g)
		}
	}
	if opt != nil {
		extra = append(extra, opt)
	}
	m.Extra = extra
}

// fits reports whether m packs into max bytes. The uncompressed length is
// cheap and an upper bound, so the compressed one is computed only when
// that does not fit.
func fits(m *dns.Msg, max int) bool {
	compress := m.Compress
	m.Compress = false
	l := m.Len()
	m.Compress = compress
	if l <= max {
		return true
	}
	if !compress {
		return false
	}
	return m.Len() <= max
}
