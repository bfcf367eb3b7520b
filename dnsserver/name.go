package dnsserver

import (
	"encoding/hex"
	"net"
	"strings"

	"github.com/miekg/dns"
)

// queryKind is what a name inside the domain asks for.
type queryKind uint8

const (
	kindInvalid queryKind = iota
	kindApex              // the domain itself ("consul.")
	kindService           // [tag.]svc.service[.dc], _svc._tag.service[.dc]
	kindNode              // node.node[.dc]
	kindAddr              // <hex ip>.addr[.dc]
)

// lookup is a parsed query name. Its strings are slices of the lower-cased
// question name: parsing allocates nothing.
type lookup struct {
	kind    queryKind
	service string
	tag     string
	node    string
	dc      string // "" means the local datacenter
	addr    net.IP // kindAddr
}

// parseName parses a lower-cased, fully qualified name that ends in the
// domain (dotDomain is "." + domain). It mirrors Consul's dispatch: the
// right-most label naming a query kind splits the name into the parts
// before it and the locality after it. For SRV queries the "service" label
// may be left out of the RFC 2782 form (_svc._tcp.consul).
func parseName(name string, qtype uint16, domain, dotDomain string) (lookup, bool) {
	if name == domain {
		return lookup{kind: kindApex}, true
	}
	rest, ok := strings.CutSuffix(name, dotDomain)
	if !ok || rest == "" {
		return lookup{}, false
	}
	var (
		kind   string
		parts  string
		suffix string
	)
	end := len(rest)
	for end > 0 {
		i := strings.LastIndexByte(rest[:end], '.')
		label := rest[i+1 : end]
		found := false
		switch label {
		case "service", "node", "addr", "query", "connect", "virtual", "ingress":
			kind, found = label, true
			if i > 0 {
				parts = rest[:i]
			}
		default:
			if qtype == dns.TypeSRV && len(label) > 1 && label[0] == '_' {
				kind, found = "service", true
				parts = rest[:end]
			}
		}
		if found {
			if end < len(rest) {
				suffix = rest[end+1:]
			}
			break
		}
		if i < 0 {
			break
		}
		end = i
	}
	if parts == "" {
		return lookup{}, false
	}
	dc, ok := parseLocality(suffix)
	if !ok {
		return lookup{}, false
	}
	l := lookup{dc: dc}
	switch kind {
	case "service":
		l.kind = kindService
		dot := strings.LastIndexByte(parts, '.')
		if dot < 0 {
			l.service = parts
			return l, true
		}
		first, second := parts[:dot], parts[dot+1:]
		if len(first) > 1 && first[0] == '_' && len(second) > 1 && second[0] == '_' &&
			strings.IndexByte(first, '.') < 0 {
			// RFC 2782: _service._proto; "_tcp" is the no-filter default.
			l.service = first[1:]
			if second != "_tcp" {
				l.tag = second[1:]
			}
			return l, true
		}
		// Consul's older form: everything before the service is the tag,
		// dots included.
		l.service, l.tag = second, first
		if l.service == "" || l.tag == "" {
			return lookup{}, false
		}
		return l, true
	case "node":
		l.kind = kindNode
		l.node = parts // node names may contain dots
		return l, true
	case "addr":
		if strings.IndexByte(parts, '.') >= 0 || (len(parts) != 8 && len(parts) != 32) {
			return lookup{}, false
		}
		ip, err := hex.DecodeString(parts)
		if err != nil {
			return lookup{}, false
		}
		l.kind = kindAddr
		l.addr = net.IP(ip)
		return l, true
	}
	// Prepared queries, Connect, virtual IPs and ingress are not implemented.
	return lookup{}, false
}

// parseLocality accepts what may follow the kind label: nothing, "<dc>" or
// "<dc>.dc". Namespaces, partitions and peers are Enterprise/peering
// features and make the name invalid.
func parseLocality(s string) (string, bool) {
	if s == "" {
		return "", true
	}
	dot := strings.IndexByte(s, '.')
	if dot < 0 {
		return s, true
	}
	if s[dot+1:] == "dc" && dot > 0 {
		return s[:dot], true
	}
	return "", false
}

// lowerName lower-cases and fully qualifies a question name; strings.ToLower
// returns its argument unchanged (no allocation) when it has no upper case.
func lowerName(name string) string {
	name = strings.ToLower(name)
	if !strings.HasSuffix(name, ".") {
		name += "."
	}
	return name
}

// ipFromARPA parses a reverse name (lower case, fully qualified) into an
// address; nil when it is not a complete in-addr.arpa or ip6.arpa name.
func ipFromARPA(name string) net.IP {
	if rest, ok := strings.CutSuffix(name, ".in-addr.arpa."); ok {
		var b [4]byte
		for i := 3; i >= 0; i-- {
			label := rest
			if i > 0 {
				dot := strings.IndexByte(rest, '.')
				if dot < 0 {
					return nil
				}
				label, rest = rest[:dot], rest[dot+1:]
			}
			n, ok := parseOctet(label)
			if !ok {
				return nil
			}
			b[i] = n
		}
		return net.IPv4(b[0], b[1], b[2], b[3])
	}
	if rest, ok := strings.CutSuffix(name, ".ip6.arpa."); ok {
		// 32 nibbles, least significant first, separated by dots.
		if len(rest) != 63 {
			return nil
		}
		ip := make(net.IP, net.IPv6len)
		for i := 0; i < 32; i++ {
			c := rest[i*2]
			if i < 31 && rest[i*2+1] != '.' {
				return nil
			}
			v, ok := fromHex(c)
			if !ok {
				return nil
			}
			pos := 31 - i // nibble index from the most significant end
			if pos%2 == 0 {
				ip[pos/2] |= v << 4
			} else {
				ip[pos/2] |= v
			}
		}
		return ip
	}
	return nil
}

func parseOctet(s string) (byte, bool) {
	if s == "" || len(s) > 3 || (len(s) > 1 && s[0] == '0') {
		return 0, false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	if n > 255 {
		return 0, false
	}
	return byte(n), true
}

func fromHex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	}
	return 0, false
}
