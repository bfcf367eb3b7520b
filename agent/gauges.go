package agent

import (
	"context"
	"strconv"
	"time"
)

// gaugeInterval is how often the agent samples its Raft and gossip state
// into gauges (the Raft library's own metrics go to go-metrics' global
// sink, which minconsul never installs).
const gaugeInterval = 5 * time.Second

// gaugeLoop emits consul.raft.* gauges (servers) and consul.serf.lan.members
// until ctx ends.
func (a *Agent) gaugeLoop(ctx context.Context) {
	m := a.cfg.Metrics
	if m == nil {
		return
	}
	t := time.NewTicker(gaugeInterval)
	defer t.Stop()
	for {
		if a.store != nil {
			st := a.store.Stats()
			for _, g := range []struct{ stat, name string }{
				{"applied_index", "applied_index"}, {"last_log_index", "last_index"},
				{"commit_index", "commit_index"}, {"fsm_pending", "fsm_pending"}, {"num_peers", "peers"},
			} {
				if v, err := strconv.ParseFloat(st[g.stat], 32); err == nil {
					m.SetGauge([]string{"raft", g.name}, float32(v))
				}
			}
			leader := float32(0)
			if a.store.IsLeader() {
				leader = 1
			}
			m.SetGauge([]string{"raft", "leader"}, leader)
		}
		if n, err := strconv.Atoi(a.members.Stats()["members"]); err == nil {
			m.SetGauge([]string{"serf", "lan", "members"}, float32(n))
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
