// Package groupcommit batches concurrent calls: while a batch is in flight,
// the calls that arrive queue up and go out together as the next one. A
// lone caller is never delayed: an idle group submits at once, unless the
// group is told to linger for more after a batch of several.
//
// raftstore uses it to put concurrent KV writes into one Raft entry, and a
// follower uses it to forward concurrent KV writes to the leader in one RPC.
package groupcommit

import (
	"errors"
	"sync"
	"sync/atomic"
	"time"
)

// ErrClosed answers calls queued or made after Close.
var ErrClosed = errors.New("groupcommit: closed")

// Outcome is one call's result.
type Outcome[Res any] struct {
	Val Res
	Err error
}

// Config bounds a group.
type Config struct {
	// Slots is how many batches may be in flight at once (at least 1).
	Slots int
	// MaxOps and MaxBytes bound one batch; the batch that reaches MaxBytes
	// may exceed it by its last call. Zero means 256 calls, 256 KiB.
	MaxOps, MaxBytes int
	// Linger, when set, is asked before each batch goes out how long it
	// may wait for more calls, given the previous batch's size; 0 sends at
	// once. While it waits, each call that arrives within LingerGap of the
	// one before extends the wait (up to the limit); a gap ends it.
	Linger    func(lastOps int) time.Duration
	LingerGap time.Duration
}

// Group batches calls of Req into submits and hands each caller its Res.
type Group[Req, Res any] struct {
	cfg     Config
	size    func(Req) int
	submit  func([]Req) []Outcome[Res]
	reqs    chan *call[Req, Res]
	slots   chan struct{}
	stop    chan struct{}
	queued  atomic.Int64 // calls sent to reqs and not yet in a submitted batch
	lastOps atomic.Int64 // the size of the last batch formed
	once    sync.Once
	done    chan struct{}
	// closing: senders hold it for reading; Close takes it for writing to
	// set closed, so that no call is queued after the final drain.
	closing sync.RWMutex
	closed  bool
}

type call[Req, Res any] struct {
	req  Req
	done chan Outcome[Res]
}

// New starts a group. submit runs one batch (in its own goroutine, so
// batches in flight overlap up to Slots) and returns one Outcome per
// request, in order; size weighs a request against MaxBytes.
func New[Req, Res any](cfg Config, size func(Req) int, submit func([]Req) []Outcome[Res]) *Group[Req, Res] {
	if cfg.Slots < 1 {
		cfg.Slots = 1
	}
	if cfg.MaxOps <= 0 {
		cfg.MaxOps = 256
	}
	if cfg.MaxBytes <= 0 {
		cfg.MaxBytes = 256 << 10
	}
	g := &Group[Req, Res]{cfg: cfg, size: size, submit: submit,
		reqs:  make(chan *call[Req, Res], 4*cfg.MaxOps),
		slots: make(chan struct{}, cfg.Slots),
		stop:  make(chan struct{}), done: make(chan struct{})}
	go g.run()
	return g
}

// Do queues req and waits for its outcome.
func (g *Group[Req, Res]) Do(req Req) (Res, error) {
	o := g.DoAll([]Req{req})[0]
	return o.Val, o.Err
}

// DoAll queues every request, in order, and waits for all their outcomes.
// The requests may go out in different batches; with one slot they reach
// submit in this order. A call that was queued always gets its batch's
// outcome, also across Close; only calls Close kept from queueing get
// ErrClosed.
func (g *Group[Req, Res]) DoAll(reqs []Req) []Outcome[Res] {
	out := make([]Outcome[Res], len(reqs))
	calls := make([]*call[Req, Res], 0, len(reqs))
	g.closing.RLock()
	if !g.closed {
		for _, r := range reqs {
			c := &call[Req, Res]{req: r, done: make(chan Outcome[Res], 1)}
			g.queued.Add(1)
			g.reqs <- c
			calls = append(calls, c)
		}
	}
	g.closing.RUnlock()
	for i := range out {
		if i < len(calls) {
			out[i] = <-calls[i].done
		} else {
			out[i].Err = ErrClosed
		}
	}
	return out
}

// Close fails every queued and later call with ErrClosed and waits for the
// batches in flight to finish.
func (g *Group[Req, Res]) Close() {
	g.once.Do(func() {
		g.closing.Lock()
		g.closed = true
		g.closing.Unlock()
		close(g.stop)
	})
	<-g.done
}

func (g *Group[Req, Res]) run() {
	defer close(g.done)
	defer func() {
		g.drain()
		for i := 0; i < g.cfg.Slots; i++ { // wait for the batches in flight
			g.slots <- struct{}{}
		}
	}()
	for {
		var first *call[Req, Res]
		select {
		case first = <-g.reqs:
		case <-g.stop:
			return
		}
		select {
		case g.slots <- struct{}{}:
		case <-g.stop:
			g.queued.Add(-1)
			first.done <- Outcome[Res]{Err: ErrClosed}
			return
		}
		batch, size := []*call[Req, Res]{first}, g.size(first.req)
		if g.cfg.Linger != nil {
			batch, size = g.linger(batch, size)
		}
	more:
		for len(batch) < g.cfg.MaxOps && size < g.cfg.MaxBytes {
			select {
			case c := <-g.reqs:
				batch = append(batch, c)
				size += g.size(c.req)
			default:
				break more
			}
		}
		g.queued.Add(-int64(len(batch)))
		g.lastOps.Store(int64(len(batch)))
		go g.flush(batch)
	}
}

func (g *Group[Req, Res]) flush(batch []*call[Req, Res]) {
	reqs := make([]Req, len(batch))
	for i, c := range batch {
		reqs[i] = c.req
	}
	outs := g.submit(reqs)
	<-g.slots
	for i, c := range batch {
		if i < len(outs) {
			c.done <- outs[i]
		} else {
			c.done <- Outcome[Res]{Err: errors.New("groupcommit: submit returned too few outcomes")}
		}
	}
}

// linger waits, as cfg.Linger allows, for more calls to join batch.
func (g *Group[Req, Res]) linger(batch []*call[Req, Res], size int) ([]*call[Req, Res], int) {
	limit := g.cfg.Linger(int(g.lastOps.Load()))
	if limit <= 0 {
		return batch, size
	}
	gap := g.cfg.LingerGap
	if gap <= 0 || gap > limit {
		gap = limit
	}
	end := time.Now().Add(limit)
	t := time.NewTimer(gap)
	defer t.Stop()
	for len(batch) < g.cfg.MaxOps && size < g.cfg.MaxBytes {
		select {
		case c := <-g.reqs:
			batch = append(batch, c)
			size += g.size(c.req)
			left := time.Until(end)
			if left <= 0 {
				return batch, size
			}
			t.Reset(min(gap, left)) // since Go 1.23 no stale tick survives a Reset
		case <-t.C:
			return batch, size
		case <-g.stop:
			return batch, size
		}
	}
	return batch, size
}

func (g *Group[Req, Res]) drain() {
	for {
		select {
		case c := <-g.reqs:
			g.queued.Add(-1)
			c.done <- Outcome[Res]{Err: ErrClosed}
		default:
			return
		}
	}
}

// Hold occupies every slot, as batches in flight do, until release is
// called: the calls made meanwhile queue up and then go out together.
// Tests use it to make batching deterministic.
func (g *Group[Req, Res]) Hold() (release func()) {
	for i := 0; i < g.cfg.Slots; i++ {
		g.slots <- struct{}{}
	}
	return func() {
		for i := 0; i < g.cfg.Slots; i++ {
			<-g.slots
		}
	}
}

// Queued is how many calls wait to be submitted.
func (g *Group[Req, Res]) Queued() int { return int(g.queued.Load()) }
