package raftstore

import (
	"context"
	"math/rand/v2"
	"time"

	"github.com/hashicorp/go-memdb"
	"github.com/hashicorp/raft"
	"github.com/minconsul/minconsul/structs"
)

// Query runs a read with Consul's blocking-query and consistency semantics.
// fn performs the read against the store (adding what it read to ws) and
// returns the index of what it saw; its results travel in fn's closure.
//
// Without opts.MinIndex fn runs once. Otherwise the wait is clamped (0 ->
// 5 min, at most 10 min) plus up to wait/16 jitter so that many clients do
// not return in lockstep, and fn re-runs each time something it watched
// changes, until its index passes MinIndex (or goes back, after a restore)
// or the wait or ctx ends; then the latest result stands.
func (s *Store) Query(ctx context.Context, opts structs.QueryOptions, meta *structs.QueryMeta, fn func(ws memdb.WatchSet) (uint64, error)) error {
	// A blocking ?consistent read confirms leadership with a quorum when it
	// is about to answer, not on arrival: it needs a round after each wake
	// anyway, so one on arrival is wasted whenever the read parks (a
	// monitoring lock holder's read always does). Either way a quorum
	// confirmed this leader after the read arrived and before it answers.
	lazy := opts.MinIndex != 0 && opts.Consistency == structs.ConsistencyConsistent
	check := s.checkConsistency
	if lazy {
		check = s.checkLeading
	}
	if err := check(ctx, opts.Consistency); err != nil {
		return err
	}
	s.FillMeta(meta)
	if opts.MinIndex == 0 {
		idx, err := fn(nil)
		meta.Index = max(idx, 1)
		return err
	}
	wait := opts.MaxWait
	if wait <= 0 {
		wait = structs.DefaultQueryWait
	}
	wait = min(wait, structs.MaxQueryWait)
	wait += rand.N(wait/16 + 1)
	// A plain timer, not context.WithTimeout: a derived context registers
	// with the request's context and must be cancelled on every return,
	// which for thousands of queries woken together is a measurable share
	// of the wake-up. The request context still ends the wait (client gone,
	// server shutting down).
	deadline := time.Now().Add(wait)
	timer := time.NewTimer(wait)
	defer timer.Stop()
	restored := false
	confirmed := !lazy // a quorum round since arrival and the last wake
	// confirm runs the deferred quorum round; the answer is then read
	// again, after it.
	confirm := func() error {
		if err := s.checkConsistency(ctx, opts.Consistency); err != nil {
			return err
		}
		confirmed = true
		s.FillMeta(meta)
		return nil
	}
	for {
		ws := memdb.NewWatchSet()
		abandon := s.State().AbandonCh()
		ws.Add(abandon)
		idx, err := fn(ws)
		meta.Index = max(idx, 1)
		// After a restore the data may have changed at the very index the
		// client holds: answer it rather than wait on.
		if err != nil || idx != opts.MinIndex || restored {
			if err != nil || confirmed {
				return err
			}
			if err := confirm(); err != nil {
				return err
			}
			continue
		}
		s.parked.Add(1)
		woke := watch(ctx, ws, timer.C, deadline)
		s.parked.Add(-1)
		if !woke {
			// Wait over: answer with what we have (read again after a
			// deferred confirmation).
			if confirmed {
				return nil
			}
			if err := confirm(); err != nil {
				return err
			}
			idx, err := fn(nil)
			meta.Index = max(idx, 1)
			return err
		}
		select {
		case <-abandon:
			restored = true
		default:
		}
		// Woken: a consistent read must still be led by us. The quorum
		// round that started this query happened after it arrived, and
		// what woke it is a committed entry applied since, so a default
		// read stays linearizable with a local check; a new quorum round
		// per wake would park every woken query once more behind Raft's
		// goroutines. ?consistent asks for a fresh round and gets one,
		// before it answers.
		if lazy {
			confirmed = false
			if err := s.checkLeading(ctx, opts.Consistency); err != nil {
				return err
			}
		} else if err := s.recheckConsistency(ctx, opts.Consistency); err != nil {
			return err
		}
		s.FillMeta(meta)
	}
}

// BlockingQueries is how many blocking queries are parked on this server
// now, waiting for a change (Consul's rpc.queries_blocking).
func (s *Store) BlockingQueries() int { return int(s.parked.Load()) }

// recheckConsistency is checkConsistency for a query woken by a change:
// cheap while this node leads with its barrier applied, the full check
// otherwise (and always for ?consistent).
func (s *Store) recheckConsistency(ctx context.Context, c structs.Consistency) error {
	switch c {
	case structs.ConsistencyStale:
		return nil
	case structs.ConsistencyDefault:
		if s.raft != nil && s.leaderReady.Load() && s.raft.State() == raft.Leader {
			return nil
		}
	}
	return s.checkConsistency(ctx, c)
}

// FillMeta reports what this server knows of the leader into meta.
func (s *Store) FillMeta(meta *structs.QueryMeta) {
	if s.raft == nil {
		return
	}
	meta.KnownLeader = s.Leader() != ""
	if s.raft.State() == raft.Leader {
		meta.LastContact = 0
	} else if lc := s.raft.LastContact(); !lc.IsZero() {
		meta.LastContact = time.Since(lc)
	}
}

// checkConsistency makes default and ?consistent reads linearizable: only
// the leader answers them, after confirming with a quorum that it still
// leads (Consul's default mode may serve from a deposed leader; we do not).
func (s *Store) checkConsistency(ctx context.Context, c structs.Consistency) error {
	if err := s.checkLeading(ctx, c); err != nil || c == structs.ConsistencyStale {
		return err
	}
	if err := s.verifier.verify(ctx); err != nil {
		return mapRaftErr(err)
	}
	return nil
}

// checkLeading is checkConsistency without the quorum round: this server
// believes it leads (once some server leads) and its own-term barrier has
// applied.
func (s *Store) checkLeading(ctx context.Context, c structs.Consistency) error {
	if c == structs.ConsistencyStale {
		return nil
	}
	if s.raft == nil {
		return structs.ErrShutdown
	}
	if err := s.waitLeader(ctx); err != nil {
		return err
	}
	if s.raft.State() != raft.Leader {
		return structs.ErrNotLeader
	}
	return s.waitReady(ctx)
}

// soleVoter reports whether this server is the only voter of the latest
// configuration (a lone server): the verifier's shortcut. Raft's own check
// then answers at once (a quorum of one is the leader itself) but only
// after two goroutine hand-offs (the verifier's, Raft's main loop); no
// other server can be elected without a configuration change this leader
// appends first, which makes the latest configuration name another voter
// and the full check run again. GetConfiguration reads an atomic copy, not
// the main loop.
func (s *Store) soleVoter() bool {
	f := s.raft.GetConfiguration()
	if f.Error() != nil {
		return false
	}
	servers := f.Configuration().Servers
	voters := 0
	self := false
	for _, srv := range servers {
		if srv.Suffrage == raft.Voter {
			voters++
			self = self || string(srv.ID) == s.cfg.NodeID
		}
	}
	return voters == 1 && self
}

// waitLeader waits (bounded by ApplyTimeout) for some node to lead.
func (s *Store) waitLeader(ctx context.Context) error {
	if s.Leader() != "" {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.ApplyTimeout)
	defer cancel()
	t := time.NewTicker(10 * time.Millisecond)
	defer t.Stop()
	for s.Leader() == "" {
		// A stopped node never gets a leader: fail now, not after ApplyTimeout.
		if s.raft.State() == raft.Shutdown {
			return structs.ErrShutdown
		}
		select {
		case <-ctx.Done():
			return structs.ErrNoLeader
		case <-t.C:
		}
	}
	return nil
}
