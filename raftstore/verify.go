package raftstore

import (
	"context"
	"sync"
	"time"

	"github.com/hashicorp/go-memdb"
)

// verifier coalesces leadership checks: every caller joins the next round
// that has not started yet, and rounds run back to back. A round starts
// after all its callers arrived, so its confirmation is as fresh as each of
// them needs (a read index, shared), while a burst of reads — or 10,000
// blocking queries woken by one write — costs one or two quorum round
// trips instead of one each.
type verifier struct {
	mu      sync.Mutex
	next    *verifyRound
	running bool
	run     func() error // one quorum round
	// alone reports a quorum of one (this server): confirmed without a
	// round.
	alone func() bool
}

type verifyRound struct {
	done chan struct{}
	err  error
}

func (v *verifier) verify(ctx context.Context) error {
	if v.alone != nil && v.alone() {
		return nil
	}
	v.mu.Lock()
	if v.next == nil {
		v.next = &verifyRound{done: make(chan struct{})}
		if !v.running {
			v.running = true
			go v.loop()
		}
	}
	r := v.next
	v.mu.Unlock()
	select {
	case <-r.done:
		return r.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (v *verifier) loop() {
	for {
		v.mu.Lock()
		r := v.next
		if r == nil {
			v.running = false
			v.mu.Unlock()
			return
		}
		v.next = nil
		v.mu.Unlock()
		r.err = v.run()
		close(r.done)
	}
}

// watch waits for any channel in ws (true) or for ctx or the query's
// timer, due at deadline (false). memdb's WatchSet.WatchCtx selects over
// 32 cases even for the one or two channels a typical query watches, and
// needs a context; with many parked queries that dominates the wake-up
// cost.
func watch(ctx context.Context, ws memdb.WatchSet, expired <-chan time.Time, deadline time.Time) bool {
	if len(ws) > 3 {
		ctx, cancel := context.WithDeadline(ctx, deadline)
		defer cancel()
		return ws.WatchCtx(ctx) == nil
	}
	var chs [3]<-chan struct{}
	i := 0
	for ch := range ws {
		chs[i] = ch
		i++
	}
	// A nil channel never fires: fewer than three watched channels need no
	// separate cases.
	select {
	case <-chs[0]:
		return true
	case <-chs[1]:
		return true
	case <-chs[2]:
		return true
	case <-ctx.Done():
		return false
	case <-expired:
		return false
	}
}
