package agent

import (
	"strconv"
	"strings"
)

// addStats completes /v1/agent/self's Stats with what Consul has beyond
// the agent, build, consul, raft and runtime sections: serf_lan (gossip
// counters) and the ACL state.
func (a *Agent) addStats(stats map[string]any) {
	stats["serf_lan"] = a.members.Stats()
	if c, ok := stats["consul"].(map[string]string); ok {
		c["acl"] = "disabled"
		if !a.cfg.Server {
			// A client agent's consul section, as Consul's: the servers it
			// knows instead of the leader fields.
			for _, k := range []string{"bootstrap", "known_datacenters", "leader", "leader_addr"} {
				delete(c, k)
			}
			c["known_servers"] = strconv.Itoa(len(a.members.ServerAddrs()))
		}
	}
}

// httpAddrURL is the HTTP address as DebugConfig.HTTPAddrs shows it:
// tcp://host:port, or the unix:///path it already is.
func httpAddrURL(addr string) string {
	if strings.HasPrefix(addr, "unix://") {
		return addr
	}
	return "tcp://" + addr
}
