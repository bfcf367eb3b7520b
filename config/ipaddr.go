package config

import "net"

// Consul's "private" blocks: RFC 1918 plus RFC 6598 shared address space.
var privateV4 = mustCIDRs("10.0.0.0/8", "100.64.0.0/10", "172.16.0.0/12", "192.168.0.0/16")

func mustCIDRs(ss ...string) []*net.IPNet {
	out := make([]*net.IPNet, 0, len(ss))
	for _, s := range ss {
		_, n, err := net.ParseCIDR(s)
		if err != nil {
			panic(err)
		}
		out = append(out, n)
	}
	return out
}

func (l *Loader) privateIPv4() ([]string, error) {
	if l.PrivateIPv4 != nil {
		return l.PrivateIPv4()
	}
	return interfaceIPs(func(ip net.IP) bool {
		if ip.To4() == nil {
			return false
		}
		for _, n := range privateV4 {
			if n.Contains(ip) {
				return true
			}
		}
		return false
	})
}

func (l *Loader) publicIPv6() ([]string, error) {
	if l.PublicIPv6 != nil {
		return l.PublicIPv6()
	}
	return interfaceIPs(func(ip net.IP) bool {
		return ip.To4() == nil && ip.IsGlobalUnicast() && !ip.IsPrivate()
	})
}

// interfaceIPs lists the addresses of up interfaces accepted by keep, in
// interface order, without duplicates.
func interfaceIPs(keep func(net.IP) bool) ([]string, error) {
	ifaces, err := net.Interfaces()
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	var out []string
	for _, ifc := range ifaces {
		if ifc.Flags&net.FlagUp == 0 || ifc.Flags&net.FlagLoopback != 0 {
			continue
		}
		addrs, err := ifc.Addrs()
		if err != nil {
			continue
		}
		for _, a := range addrs {
			var ip net.IP
			switch v := a.(type) {
			case *net.IPNet:
				ip = v.IP
			case *net.IPAddr:
				ip = v.IP
			}
			if ip == nil || !keep(ip) || seen[ip.String()] {
				continue
			}
			seen[ip.String()] = true
			out = append(out, ip.String())
		}
	}
	return out, nil
}
