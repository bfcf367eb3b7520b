package agent

// addStats completes /v1/agent/self's Stats with what Consul has beyond
// the agent, build, consul, raft and runtime sections: serf_lan (gossip
// counters) and the ACL state.
func (a *Agent) addStats(stats map[string]any) {
	stats["serf_lan"] = a.members.Stats()
	if c, ok := stats["consul"].(map[string]string); ok {
		c["acl"] = "disabled"
	}
}
