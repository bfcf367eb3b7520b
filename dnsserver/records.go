package dnsserver

import (
	"encoding/hex"
	"net"
	"strings"
	"time"

	"github.com/miekg/dns"

	"github.com/minconsul/minconsul/structs"
)

// SOA timers, as Consul's dns_config.soa defaults.
const (
	soaRefresh = 3600
	soaRetry   = 600
	soaExpire  = 86400
	soaMinTTL  = 0
)

// soa builds the zone's SOA the way Consul does: ns.<domain> and
// hostmaster.<domain>, the serial being the current unix time, and a
// header TTL equal to the minimum TTL so negative answers cache as long.
func (s *Server) soa() *dns.SOA {
	return &dns.SOA{
		Hdr:     dns.RR_Header{Name: s.domain, Rrtype: dns.TypeSOA, Class: dns.ClassINET, Ttl: soaMinTTL},
		Ns:      "ns." + s.domain,
		Mbox:    "hostmaster." + s.domain,
		Serial:  uint32(time.Now().Unix()),
		Refresh: soaRefresh,
		Retry:   soaRetry,
		Expire:  soaExpire,
		Minttl:  soaMinTTL,
	}
}

// ipRecord returns an A or AAAA record for ip when qtype asks for that
// family (SRV glue takes either), or nil.
func ipRecord(name string, qtype uint16, ip net.IP, ttl uint32) dns.RR {
	if v4 := ip.To4(); v4 != nil {
		switch qtype {
		case dns.TypeA, dns.TypeANY, dns.TypeSRV:
			return &dns.A{Hdr: dns.RR_Header{Name: name, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: ttl}, A: v4}
		}
		return nil
	}
	if len(ip) != net.IPv6len {
		return nil
	}
	switch qtype {
	case dns.TypeAAAA, dns.TypeANY, dns.TypeSRV:
		return &dns.AAAA{Hdr: dns.RR_Header{Name: name, Rrtype: dns.TypeAAAA, Class: dns.ClassINET, Ttl: ttl}, AAAA: ip}
	}
	return nil
}

func cnameRecord(name, target string, ttl uint32) dns.RR {
	return &dns.CNAME{Hdr: dns.RR_Header{Name: name, Rrtype: dns.TypeCNAME, Class: dns.ClassINET, Ttl: ttl}, Target: target}
}

func srvRecord(name string, ttl uint32, weight, port int, target string) dns.RR {
	return &dns.SRV{
		Hdr:      dns.RR_Header{Name: name, Rrtype: dns.TypeSRV, Class: dns.ClassINET, Ttl: ttl},
		Priority: 1,
		Weight:   clampUint16(weight),
		Port:     clampUint16(port),
		Target:   target,
	}
}

func ptrRecord(name, target string) dns.RR {
	return &dns.PTR{Hdr: dns.RR_Header{Name: name, Rrtype: dns.TypePTR, Class: dns.ClassINET}, Ptr: target}
}

func clampUint16(v int) uint16 {
	if v < 0 {
		return 0
	}
	if v > 0xffff {
		return 0xffff
	}
	return uint16(v)
}

// nodeTXT turns node metadata into TXT records: RFC 1464 key=value, except
// keys starting with "rfc1035-" whose value is used verbatim (Consul).
func nodeTXT(name string, meta map[string]string, ttl uint32) []dns.RR {
	out := make([]dns.RR, 0, len(meta))
	for k, v := range meta {
		txt := v
		if !strings.HasPrefix(strings.ToLower(k), "rfc1035-") {
			txt = rfc1464(k, v)
		}
		out = append(out, &dns.TXT{
			Hdr: dns.RR_Header{Name: name, Rrtype: dns.TypeTXT, Class: dns.ClassINET, Ttl: ttl},
			Txt: []string{txt},
		})
	}
	return out
}

// rfc1464 quotes a key with backquotes: "`" and "=" anywhere, and leading
// and trailing spaces, so that the first bare "=" separates key and value.
func rfc1464(key, value string) string {
	var b strings.Builder
	lead := len(key) - len(strings.TrimLeft(key, " "))
	trail := 0
	if lead < len(key) {
		trail = len(key) - len(strings.TrimRight(key, " "))
	}
	for i := 0; i < len(key); i++ {
		c := key[i]
		switch {
		case c == '`' || c == '=':
			b.WriteByte('`')
		case c == ' ' && (i < lead || i >= len(key)-trail):
			b.WriteByte('`')
		}
		b.WriteByte(c)
	}
	b.WriteByte('=')
	b.WriteString(strings.ReplaceAll(value, "`", "``"))
	return b.String()
}

// healthy drops instances with a critical (or maintenance) check, and with
// OnlyPassing any that is not passing; it returns a new slice because the
// store's result may be shared.
func healthy(in structs.CheckServiceNodes, onlyPassing bool) structs.CheckServiceNodes {
	out := make(structs.CheckServiceNodes, 0, len(in))
	for _, csn := range in {
		if csn.Node == nil || csn.Service == nil {
			continue
		}
		ok := true
		for _, c := range csn.Checks {
			if c == nil {
				continue
			}
			if c.Status == structs.HealthCritical || c.Status == structs.HealthMaint ||
				(onlyPassing && c.Status != structs.HealthPassing) {
				ok = false
				break
			}
		}
		if ok {
			out = append(out, csn)
		}
	}
	return out
}

// weight is the SRV weight by health: Weights.Warning when a check warns,
// else Weights.Passing; unset weights count as 1 (Consul's default).
func weight(csn *structs.CheckServiceNode) int {
	w := csn.Service.Weights
	if w == (structs.Weights{}) {
		w = structs.Weights{Passing: 1, Warning: 1}
	}
	for _, c := range csn.Checks {
		if c != nil && c.Status == structs.HealthWarning {
			return w.Warning
		}
	}
	return w.Passing
}

// addrName is Consul's name for a bare IP: <hex>.addr.<dc>.<domain>, with
// 8 hex digits for IPv4 and 32 for IPv6.
func (s *Server) addrName(ip net.IP) string {
	if v4 := ip.To4(); v4 != nil {
		ip = v4
	}
	return hex.EncodeToString(ip) + s.addrSfx
}
