// Package ae is anti-entropy: it keeps the catalog's copy of this node in
// line with the agent's local state. It owns only the timing — a full
// sync at start, every Interval (with jitter) and when asked (a server
// reappeared), a sync of changes when asked (a check changed on its own),
// one at a time, retried after a failure — and calls the two halves of
// SyncState, which own the what.
package ae

import (
	"context"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
)

// SyncState is what anti-entropy keeps in sync.
type SyncState interface {
	// SyncChanges writes what changed locally since the last sync.
	SyncChanges(ctx context.Context) error
	// SyncFull compares everything with the catalog and repairs it.
	SyncFull(ctx context.Context) error
}

const (
	// DefaultInterval is the period of full syncs, as Consul's.
	DefaultInterval = 60 * time.Second
	retryInterval   = time.Second
	// syncTimeout bounds one sync: a write waits for a leader at most the
	// leader wait.
	syncTimeout = 10 * time.Second
)

// StateSyncer runs the syncs of one SyncState.
type StateSyncer struct {
	state    SyncState
	interval time.Duration
	logger   hclog.Logger

	mu      sync.Mutex // one sync at a time
	changes chan struct{}
	full    chan struct{}
}

// New builds a syncer; Run drives it.
func New(state SyncState, interval time.Duration, logger hclog.Logger) *StateSyncer {
	if interval <= 0 {
		interval = DefaultInterval
	}
	return &StateSyncer{state: state, interval: interval, logger: logger,
		changes: make(chan struct{}, 1), full: make(chan struct{}, 1)}
}

// TriggerChanges asks for a sync of changes soon.
func (s *StateSyncer) TriggerChanges() { poke(s.changes) }

// TriggerFull asks for a full sync soon.
func (s *StateSyncer) TriggerFull() { poke(s.full) }

func poke(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// SyncChanges syncs changes now, within a bound, so that an API call
// returns with the catalog updated; on failure the loop retries.
func (s *StateSyncer) SyncChanges(ctx context.Context) {
	if err := s.run(ctx, s.state.SyncChanges); err != nil {
		s.logger.Warn("catalog sync failed; will retry", "error", err)
		s.TriggerFull()
	}
}

func (s *StateSyncer) run(ctx context.Context, sync func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, syncTimeout)
	defer cancel()
	s.mu.Lock()
	defer s.mu.Unlock()
	return sync(ctx)
}

// Run syncs until ctx ends, once ready (a server waits for a leader) has
// returned: fully at once and every interval, changes when triggered, and
// after a failure a full sync a second later. The caller owns the
// goroutine.
func (s *StateSyncer) Run(ctx context.Context, ready func(context.Context) error) {
	if ready != nil {
		if err := ready(ctx); err != nil {
			return
		}
	}
	next := func() time.Duration { return s.interval + rand.N(s.interval/4) }
	full := time.NewTimer(next())
	defer full.Stop()
	var retry <-chan time.Time
	sync := s.state.SyncFull // at once
	for {
		retry = nil
		if err := s.run(ctx, sync); err != nil {
			if ctx.Err() != nil {
				return
			}
			s.logger.Warn("catalog sync failed; will retry", "error", err)
			retry = time.After(retryInterval)
		}
		select {
		case <-ctx.Done():
			return
		case <-full.C:
			full.Reset(next())
			sync = s.state.SyncFull
		case <-s.full:
			sync = s.state.SyncFull
		case <-retry:
			sync = s.state.SyncFull
		case <-s.changes:
			sync = s.state.SyncChanges
		}
	}
}
