package dnsserver

import (
	"context"
	"math/rand/v2"
	"net"
	"net/netip"
	"strings"

	"github.com/miekg/dns"

	"github.com/minconsul/minconsul/structs"
)

// records is a lookup's result: answers and, parallel to them, the
// additional record each answer introduces (nil when none or when an
// earlier answer already brought it). Truncating the answers to a prefix
// therefore keeps exactly the glue the remaining answers need.
type records struct {
	answer []dns.RR
	glue   []dns.RR
}

// serviceLookup answers <svc>.service and its tag and RFC 2782 forms.
func (s *Server) serviceLookup(q *dns.Question, l *lookup) (records, error) {
	if l.dc != "" && l.dc != s.dc {
		return records{}, errNameNotFound
	}
	var tags []string
	if l.tag != "" {
		tags = []string{l.tag}
	}
	all, err := s.checkServiceNodes(l.service, tags)
	if err != nil {
		return records{}, err
	}
	nodes := healthy(all, s.cfg.OnlyPassing)
	if len(nodes) == 0 {
		return records{}, errNameNotFound
	}
	rand.Shuffle(len(nodes), func(i, j int) { nodes[i], nodes[j] = nodes[j], nodes[i] })
	ttl := s.ttls.lookup(l.service)

	var rec records
	switch q.Qtype {
	case dns.TypeSRV:
		rec = s.srvRecords(q.Name, nodes, ttl)
	case dns.TypeA, dns.TypeAAAA, dns.TypeANY:
		rec.answer = s.serviceAddrRecords(q, nodes, ttl)
	}
	if len(rec.answer) == 0 {
		return records{}, errNoData
	}
	return rec, nil
}

// srvRecords builds one SRV per distinct (node, address, port). The
// target is the node's name when the instance uses the node's address,
// <hex>.addr.<dc>.<domain> when it has an IP of its own, or the service's
// host name; the A/AAAA for the first two goes to the additional section.
func (s *Server) srvRecords(qname string, nodes structs.CheckServiceNodes, ttl uint32) records {
	rec := records{
		answer: make([]dns.RR, 0, len(nodes)),
		glue:   make([]dns.RR, 0, len(nodes)),
	}
	// Few instances (the usual case) are deduplicated by scanning, which
	// allocates nothing; many by maps.
	var (
		seen    map[srvKey]struct{}
		targets map[string]struct{}
	)
	if len(nodes) > smallSet {
		seen = make(map[srvKey]struct{}, len(nodes))
		targets = make(map[string]struct{}, len(nodes))
	}
	for i := range nodes {
		csn := &nodes[i]
		svcAddr, nodeAddr := csn.Service.Address, csn.Node.Address
		if seen != nil {
			k := srvKey{csn.Node.Node, svcAddr, csn.Service.Port}
			if _, dup := seen[k]; dup {
				continue
			}
			seen[k] = struct{}{}
		} else if duplicateInstance(nodes[:i], csn) {
			continue
		}
		var (
			target string
			ip     net.IP
		)
		switch {
		case svcAddr == "" || svcAddr == nodeAddr:
			if ip = parseIP(nodeAddr); ip != nil {
				target = csn.Node.Node + s.nodeSfx
			} else if nodeAddr != "" {
				target = dns.Fqdn(nodeAddr)
			}
		default:
			if ip = parseIP(svcAddr); ip != nil {
				target = s.addrName(ip)
			} else {
				target = dns.Fqdn(svcAddr)
			}
		}
		if target == "" {
			continue
		}
		var glue dns.RR
		if ip != nil {
			first := false
			if targets != nil {
				if _, ok := targets[target]; !ok {
					targets[target] = struct{}{}
					first = true
				}
			} else {
				first = !hasTarget(rec.answer, target)
			}
			if first {
				glue = ipRecord(target, dns.TypeSRV, ip, ttl)
			}
		}
		rec.answer = append(rec.answer, srvRecord(qname, ttl, weight(csn), csn.Service.Port, target))
		rec.glue = append(rec.glue, glue)
	}
	return rec
}

// smallSet is the size up to which linear scans beat building a map.
const smallSet = 32

type srvKey struct {
	node, addr string
	port       int
}

// duplicateInstance reports whether an earlier instance has the same node,
// address and port (the same service registered twice).
func duplicateInstance(earlier structs.CheckServiceNodes, csn *structs.CheckServiceNode) bool {
	for j := range earlier {
		e := &earlier[j]
		if e.Service.Port == csn.Service.Port && e.Service.Address == csn.Service.Address && e.Node.Node == csn.Node.Node {
			return true
		}
	}
	return false
}

// hasTarget reports whether an SRV answer already points at target.
func hasTarget(answers []dns.RR, target string) bool {
	for _, rr := range answers {
		if srv, ok := rr.(*dns.SRV); ok && srv.Target == target {
			return true
		}
	}
	return false
}

// serviceAddrRecords answers A/AAAA/ANY with the service's address, or
// the node's when the service has none. Host names become a CNAME, used
// only when no instance has an IP (as Consul).
func (s *Server) serviceAddrRecords(q *dns.Question, nodes structs.CheckServiceNodes, ttl uint32) []dns.RR {
	answer := make([]dns.RR, 0, len(nodes))
	var cname dns.RR
	ips := make([]net.IP, 0, len(nodes))
	for i := range nodes {
		csn := &nodes[i]
		addr := csn.Service.Address
		ip := parseIP(addr)
		// A service address naming the very name asked for would loop:
		// Consul answers with the node's address then.
		if addr == "" || (ip == nil && strings.EqualFold(strings.TrimSuffix(addr, "."), strings.TrimSuffix(q.Name, "."))) {
			addr = csn.Node.Address
			ip = parseIP(addr)
		}
		if ip == nil {
			if cname == nil && addr != "" {
				cname = cnameRecord(q.Name, dns.Fqdn(addr), ttl)
			}
			continue
		}
		if containsIP(ips, ip) {
			continue
		}
		if rr := ipRecord(q.Name, q.Qtype, ip, ttl); rr != nil {
			ips = append(ips, ip)
			answer = append(answer, rr)
		}
	}
	if len(answer) == 0 && cname != nil {
		answer = append(answer, cname)
	}
	return answer
}

// nodeLookup answers <node>.node[.<dc>] for A, AAAA, ANY and TXT (meta).
func (s *Server) nodeLookup(q *dns.Question, l *lookup) (records, error) {
	if l.dc != "" && l.dc != s.dc {
		return records{}, errNameNotFound
	}
	node, err := s.getNode(l.node)
	if err != nil {
		return records{}, err
	}
	if node == nil {
		return records{}, errNameNotFound
	}
	var answer []dns.RR
	switch q.Qtype {
	case dns.TypeA, dns.TypeAAAA, dns.TypeANY:
		if ip := parseIP(node.Address); ip != nil {
			if rr := ipRecord(q.Name, q.Qtype, ip, s.nodeTTL); rr != nil {
				answer = append(answer, rr)
			}
		} else if node.Address != "" {
			answer = append(answer, cnameRecord(q.Name, dns.Fqdn(node.Address), s.nodeTTL))
		}
	}
	if q.Qtype == dns.TypeTXT || q.Qtype == dns.TypeANY {
		answer = append(answer, nodeTXT(q.Name, node.Meta, s.nodeTTL)...)
	}
	if len(answer) == 0 {
		return records{}, errNoData
	}
	return records{answer: answer}, nil
}

// addrLookup answers <hex>.addr: the address is in the name itself. Like
// Consul it ignores the datacenter label.
func (s *Server) addrLookup(q *dns.Question, l *lookup) (records, error) {
	rr := ipRecord(q.Name, q.Qtype, l.addr, s.nodeTTL)
	if rr == nil || q.Qtype == dns.TypeSRV {
		return records{}, errNoData
	}
	return records{answer: []dns.RR{rr}}, nil
}

// nameservers is the NS set for the zone: this agent, with its address as
// glue when the catalog knows it.
func (s *Server) nameservers() records {
	if s.cfg.NodeName == "" {
		return records{}
	}
	target := s.cfg.NodeName + s.nodeSfx
	ns := &dns.NS{Hdr: dns.RR_Header{Name: s.domain, Rrtype: dns.TypeNS, Class: dns.ClassINET, Ttl: s.nodeTTL}, Ns: target}
	rec := records{answer: []dns.RR{ns}, glue: []dns.RR{nil}}
	if node, err := s.getNode(s.cfg.NodeName); err == nil && node != nil {
		if ip := parseIP(node.Address); ip != nil {
			rec.glue[0] = ipRecord(target, dns.TypeANY, ip, s.nodeTTL)
		}
	}
	return rec
}

// ptrLookup finds the node (first) or else the service instance with the
// address of a reverse name. Nodes map to <node>.node.<dc>.<domain>,
// service addresses to <svc>.service.<dc>.<domain>, as Consul.
func (s *Server) ptrLookup(q *dns.Question, name string) (records, error) {
	ip := ipFromARPA(name)
	if ip == nil {
		return records{}, errNameNotFound
	}
	target, err := s.reverse(ip)
	if err != nil {
		return records{}, err
	}
	if target == "" {
		return records{}, errNameNotFound
	}
	if q.Qtype != dns.TypePTR && q.Qtype != dns.TypeANY {
		return records{}, errNoData
	}
	return records{answer: []dns.RR{ptrRecord(q.Name, target)}}, nil
}

func (s *Server) reverse(ip net.IP) (string, error) {
	nodes, err := s.nodes()
	if err != nil {
		return "", err
	}
	for _, n := range nodes {
		if n != nil && ip.Equal(parseIP(n.Address)) {
			return n.Node + s.nodeSfx, nil
		}
	}
	services, err := s.services()
	if err != nil {
		return "", err
	}
	for name := range services {
		csns, err := s.checkServiceNodes(name, nil)
		if err != nil {
			return "", err
		}
		for _, csn := range csns {
			if csn.Service != nil && ip.Equal(parseIP(csn.Service.Address)) {
				return name + ".service." + s.dc + "." + s.domain, nil
			}
		}
	}
	return "", nil
}

// parseIP parses without allocating on failure; nil for host names.
func parseIP(s string) net.IP {
	if s == "" {
		return nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" {
		return nil
	}
	if a.Is4() || a.Is4In6() {
		v4 := a.Unmap().As4()
		return net.IPv4(v4[0], v4[1], v4[2], v4[3]).To4()
	}
	b := a.As16()
	return net.IP(b[:])
}

func containsIP(list []net.IP, ip net.IP) bool {
	for _, v := range list {
		if v.Equal(ip) {
			return true
		}
	}
	return false
}

// Reads go through the backend contract: with AllowStale (Consul's
// default) any server answers from its own state (a client agent asks
// one), bounded only by the server's lifetime; otherwise the leader
// answers after confirming its leadership, within QueryTimeout.

func (s *Server) checkServiceNodes(service string, tags []string) (structs.CheckServiceNodes, error) {
	req := &structs.ServiceSpecificRequest{ServiceName: service, ServiceTags: tags}
	return dnsRead(s, req, s.store.CheckServiceNodes)
}

func (s *Server) getNode(name string) (*structs.Node, error) {
	return dnsRead(s, &structs.NodeSpecificRequest{Node: name}, s.store.GetNode)
}

func (s *Server) nodes() (structs.Nodes, error) {
	return dnsRead(s, &structs.DCSpecificRequest{}, s.store.Nodes)
}

func (s *Server) services() (map[string][]string, error) {
	return dnsRead(s, &structs.DCSpecificRequest{}, s.store.Services)
}

func dnsRead[Q structs.QueryRequest, T any](s *Server, req Q, fn func(context.Context, Q) (*structs.Indexed[T], error)) (T, error) {
	ctx := s.ctx
	if s.cfg.AllowStale {
		req.QueryOpts().Consistency = structs.ConsistencyStale
	} else {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, s.cfg.QueryTimeout)
		defer cancel()
	}
	res, err := fn(ctx, req)
	if err != nil {
		var zero T
		return zero, err
	}
	return res.Value, nil
}
