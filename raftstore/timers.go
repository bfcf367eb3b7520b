package raftstore

import (
	"context"
	"sync"
	"time"

	"github.com/minconsul/minconsul/structs"
)

// sessionTimers are the leader's TTL timers, one per TTL session. They
// are never replicated: a new leader arms one for every TTL session in
// the replicated state (armSessionTimers), each at the full grace of
// SessionTTLMultiplier x TTL, as Consul does; a server that stops leading
// drops them all. A timer that fires destroys its session through Raft.
type sessionTimers struct {
	mu     sync.Mutex
	gen    uint64
	timers map[string]armedTimer
}

// armedTimer is one session's timer; gen tells a fired timer whether it is
// still the current one (a renew may replace it as it fires).
type armedTimer struct {
	t   *time.Timer
	gen uint64
}

func (t *sessionTimers) reset(id string, d time.Duration, fire func(gen uint64)) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.timers == nil {
		t.timers = map[string]armedTimer{}
	}
	if old, ok := t.timers[id]; ok {
		old.t.Stop()
	}
	t.gen++
	gen := t.gen
	t.timers[id] = armedTimer{t: time.AfterFunc(d, func() { fire(gen) }), gen: gen}
}

// fired removes a fired timer and reports whether it was still current.
func (t *sessionTimers) fired(id string, gen uint64) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if cur, ok := t.timers[id]; !ok || cur.gen != gen {
		return false
	}
	delete(t.timers, id)
	return true
}

func (t *sessionTimers) clear(id string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if old, ok := t.timers[id]; ok {
		old.t.Stop()
		delete(t.timers, id)
	}
}

func (t *sessionTimers) clearAll() {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, tm := range t.timers {
		tm.t.Stop()
	}
	t.timers = nil
}

// Len is how many timers are armed (tests).
func (t *sessionTimers) len() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.timers)
}

// SessionTimers is how many TTL timers this server has armed (0 unless it
// leads).
func (s *Store) SessionTimers() int { return s.timers.len() }

// resetSessionTimer (re)starts the timer of a TTL session.
func (s *Store) resetSessionTimer(sess *structs.Session) {
	ttl := sess.TTLDuration()
	if ttl <= 0 {
		return
	}
	id := sess.ID
	s.timers.reset(id, ttl*structs.SessionTTLMultiplier, func(gen uint64) { s.expireSession(id, gen) })
}

// armSessionTimers arms a timer for every TTL session; run when this
// server gains leadership, after its barrier (so the state is complete).
func (s *Store) armSessionTimers() {
	sessions := s.State().ttlSessions()
	for _, sess := range sessions {
		s.resetSessionTimer(sess)
	}
	if len(sessions) > 0 {
		s.logger.Info("armed session TTL timers", "sessions", len(sessions))
	}
}

// expireSession destroys a session whose TTL ran out. A session already
// gone (destroyed, invalidated) needs nothing; a lost leadership leaves it
// to the next leader's timers.
func (s *Store) expireSession(id string, gen uint64) {
	if !s.timers.fired(id, gen) || !s.IsLeader() || !s.State().sessionExists(id) {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.ApplyTimeout)
	defer cancel()
	s.logger.Debug("session TTL expired", "session", id)
	if _, _, err := s.Apply(ctx, structs.Command{Type: structs.SessionDestroy, Session: &structs.Session{ID: id}}); err != nil {
		s.logger.Warn("session TTL invalidation failed", "session", id, "error", err)
	}
}

// SessionRenew restarts a TTL session's timer on the leader and answers
// the session (nil when it does not exist).
func (s *Store) SessionRenew(ctx context.Context, req *structs.SessionRequest) (*structs.Session, error) {
	if !s.IsLeader() {
		return nil, structs.ErrNotLeader
	}
	// A new leader answers only once its state has everything committed
	// (a session created just before the election must not read as gone).
	if err := s.waitReady(ctx); err != nil {
		return nil, err
	}
	_, sessions, err := s.State().SessionInfo(nil, req)
	if err != nil || len(sessions) == 0 {
		return nil, err
	}
	s.resetSessionTimer(sessions[0])
	return sessions[0], nil
}

// RearmSessionTimers drops and re-arms every TTL timer from the state, as
// a new leader does (benchmarks measure it).
func (s *Store) RearmSessionTimers() {
	s.timers.clearAll()
	s.armSessionTimers()
}
