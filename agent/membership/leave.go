package membership

import (
	"time"
)

// Leave leaves the cluster gracefully. A leading server first removes
// itself from Raft so the others elect a new leader at once; any other
// server is removed by the leader when gossip reports the leave, which
// Leave waits for (bounded) so that a graceful leave never costs the
// quorum. Only the first call leaves; later ones answer its error.
func (ms *Membership) Leave() error {
	ms.once.Do(func() {
		ms.logger.Info("leaving the cluster")
		if ms.store != nil && ms.store.IsLeader() {
			if servers, err := ms.store.Servers(); err == nil && len(servers) > 1 {
				if err := ms.store.RemoveServer(ms.cfg.NodeID); err != nil {
					ms.logger.Warn("leader could not remove itself from Raft", "error", err)
				}
			}
		}
		if ms.serf != nil {
			if err := ms.serf.Leave(); err != nil {
				ms.err = err
				ms.logger.Warn("gossip leave failed", "error", err)
			}
		}
		if ms.store != nil && ms.serf != nil {
			ms.waitRemovedFromRaft(5 * time.Second)
		}
	})
	return ms.err
}

// waitRemovedFromRaft waits (bounded) until this server is out of the
// configuration it knows.
func (ms *Membership) waitRemovedFromRaft(d time.Duration) {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		servers, err := ms.store.Servers()
		if err != nil {
			return
		}
		in := false
		for _, s := range servers {
			in = in || s.ID == ms.cfg.NodeID
		}
		if !in || len(servers) <= 1 {
			return
		}
		time.Sleep(50 * time.Millisecond) // bounded poll while the leader commits our removal
	}
}
