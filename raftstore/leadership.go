package raftstore

import (
	"context"
	"time"

	"github.com/hashicorp/raft"
	"github.com/minconsul/minconsul/structs"
)

// A new leader may hold committed entries it has not applied yet (Raft
// does not persist the commit index). Until a barrier from its own term
// has been applied, its state may miss acknowledged writes, so it must not
// answer linearizable reads. watchLeadership runs that barrier on every
// gain of leadership and publishes readiness.
func (s *Store) watchLeadership() {
	defer close(s.leaderDone)
	raftCh := s.raft.LeaderCh()
	for {
		select {
		case <-s.stopCh:
			return
		case leading := <-raftCh:
			s.leaderReady.Store(false)
			s.timers.clearAll()
			if leading {
				if err := s.raft.Barrier(time.Minute).Error(); err != nil {
					s.logger.Warn("leader barrier failed", "error", err)
					continue
				}
				s.leaderReady.Store(s.raft.State() == raft.Leader)
				s.armSessionTimers()
			}
			s.publishLeader(leading)
		}
	}
}

// publishLeader hands the latest leadership state to the agent, dropping
// a stale undelivered one.
func (s *Store) publishLeader(leading bool) {
	for {
		select {
		case s.leaderCh <- leading:
			return
		default:
		}
		select {
		case <-s.leaderCh:
		default:
		}
	}
}

// LeaderCh reports leadership gained (true, after the barrier) and lost
// (false). One consumer (the agent's leader loop).
func (s *Store) LeaderCh() <-chan bool { return s.leaderCh }

// waitReady waits (bounded) for a new leader's barrier.
func (s *Store) waitReady(ctx context.Context) error {
	if s.leaderReady.Load() {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.ApplyTimeout)
	defer cancel()
	t := time.NewTicker(2 * time.Millisecond)
	defer t.Stop()
	for !s.leaderReady.Load() {
		if s.raft.State() != raft.Leader {
			return structs.ErrNotLeader
		}
		select {
		case <-ctx.Done():
			return structs.ErrNoLeader
		case <-t.C:
		}
	}
	return nil
}
