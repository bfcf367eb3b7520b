package ae

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/minconsul/minconsul/testutil"
)

// recorder is a SyncState that logs which half ran; fail makes the next
// sync fail once.
type recorder struct {
	mu   sync.Mutex
	runs []string
	fail bool
}

func (r *recorder) record(kind string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.runs = append(r.runs, kind)
	if r.fail {
		r.fail = false
		return errors.New("no leader")
	}
	return nil
}

func (r *recorder) SyncChanges(context.Context) error { return r.record("changes") }
func (r *recorder) SyncFull(context.Context) error    { return r.record("full") }

func (r *recorder) waitFor(t *testing.T, want ...string) {
	t.Helper()
	testutil.Retry(t, 10*time.Second, func() error {
		r.mu.Lock()
		defer r.mu.Unlock()
		if fmt.Sprint(r.runs) != fmt.Sprint(want) {
			return fmt.Errorf("runs %v, want %v", r.runs, want)
		}
		return nil
	})
}

// A full sync runs at start; a change trigger runs the changes half, a
// full trigger the full one; a failed sync is retried as a full one; an
// API call's sync runs at once.
func TestStateSyncer_Triggers(t *testing.T) {
	r := &recorder{}
	s := New(r, time.Hour, hclog.NewNullLogger())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); s.Run(ctx, nil) }()
	defer func() { cancel(); <-done }()
	r.waitFor(t, "full")
	s.TriggerChanges()
	r.waitFor(t, "full", "changes")
	s.TriggerFull()
	r.waitFor(t, "full", "changes", "full")
	r.mu.Lock()
	r.fail = true
	r.mu.Unlock()
	s.TriggerChanges()
	r.waitFor(t, "full", "changes", "full", "changes", "full")
	s.SyncChanges(context.Background())
	r.waitFor(t, "full", "changes", "full", "changes", "full", "changes")
}

// Until ready returns, nothing syncs; then the full sync comes first.
func TestStateSyncer_WaitsUntilReady(t *testing.T) {
	r := &recorder{}
	s := New(r, time.Hour, hclog.NewNullLogger())
	release := make(chan struct{})
	asked := make(chan struct{})
	done := make(chan struct{})
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		defer close(done)
		s.Run(ctx, func(ctx context.Context) error {
			close(asked)
			select {
			case <-release:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		})
	}()
	<-asked
	s.TriggerChanges()
	r.mu.Lock()
	early := len(r.runs)
	r.mu.Unlock()
	if early != 0 {
		t.Fatalf("synced %d times before ready", early)
	}
	close(release)
	r.waitFor(t, "full", "changes")
	cancel()
	<-done
}
