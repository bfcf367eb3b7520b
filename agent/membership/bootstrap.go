package membership

import (
	"context"
	"sort"
	"time"

	"github.com/hashicorp/serf/serf"
	"github.com/minconsul/minconsul/raftstore"
)

// maybeBootstrap forms the cluster once -bootstrap-expect servers know each
// other. All of them bootstrap with the same sorted voter list, so there is
// exactly one configuration; a server with Raft state never bootstraps, and
// none does while any peer reports an existing configuration (so a fresh
// server joining a running cluster waits to be added instead).
func (ms *Membership) maybeBootstrap() {
	if ms.cfg.BootstrapExpect < 2 || ms.bootstrapped.Load() || ms.store == nil {
		return
	}
	if has, err := ms.store.HasExistingState(); err != nil || has {
		ms.bootstrapped.Store(has)
		return
	}
	var servers []serverMember
	for _, m := range ms.serverMembers() {
		if m.status != serf.StatusAlive {
			continue
		}
		if m.expect != 0 && m.expect != ms.cfg.BootstrapExpect {
			ms.logger.Error("servers disagree on bootstrap_expect; not bootstrapping", "server", m.name, "expect", m.expect, "ours", ms.cfg.BootstrapExpect)
			return
		}
		servers = append(servers, m)
	}
	if len(servers) < ms.cfg.BootstrapExpect {
		return
	}
	ctx, cancel := context.WithTimeout(ms.ctx, 5*time.Second)
	defer cancel()
	for _, m := range servers {
		if m.id == ms.cfg.NodeID {
			continue
		}
		peers, err := ms.deps.PeersAt(ctx, m.addr)
		if err != nil {
			ms.logger.Debug("bootstrap: cannot ask server for its peers yet", "server", m.name, "error", err)
			return
		}
		if len(peers) > 0 {
			ms.logger.Info("bootstrap: an existing cluster was found; waiting to be added", "server", m.name)
			ms.bootstrapped.Store(true)
			return
		}
	}
	sort.Slice(servers, func(i, j int) bool { return servers[i].id < servers[j].id })
	var infos []raftstore.ServerInfo
	for _, m := range servers {
		infos = append(infos, raftstore.ServerInfo{ID: m.id, Address: m.addr, Voter: true})
	}
	if err := ms.store.BootstrapCluster(infos); err != nil {
		ms.logger.Error("bootstrap failed", "error", err)
		return
	}
	ms.bootstrapped.Store(true)
	ms.logger.Info("cluster bootstrapped", "servers", len(infos))
}
