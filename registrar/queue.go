package registrar

import (
	"sync"
	"time"
)

// queue hands container IDs to workers. An ID is handled by at most one
// worker at a time; an ID added again while it is being handled is handled
// once more afterwards (the event that caused it may have come after the
// worker's inspect), and an ID added many times while it waits is handled
// once. That makes events mere hints ("look at this container again"),
// so duplicated, replayed or reordered events are harmless.
type queue struct {
	mu      sync.Mutex
	cond    *sync.Cond
	order   []string             // waiting, FIFO
	waiting map[string]bool      // in order
	active  map[string]bool      // being handled
	again   map[string]bool      // added while active
	delayed map[string]time.Time // retry not before
	gone    map[string]string    // the latest event said it stopped: ID -> name
	wake    chan struct{}        // delayed set changed
	closed  bool
}

func newQueue() *queue {
	q := &queue{
		waiting: map[string]bool{}, active: map[string]bool{}, again: map[string]bool{},
		delayed: map[string]time.Time{}, gone: map[string]string{}, wake: make(chan struct{}, 1),
	}
	q.cond = sync.NewCond(&q.mu)
	return q
}

// add queues id (no-op once closed). It cancels a pending delayed retry:
// the container is looked at now anyway.
func (q *queue) add(id string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	delete(q.gone, id)
	q.addLocked(id)
}

// addGone queues id with the news that it stopped running (die, destroy,
// pause), so its services can go without asking Docker first: inspecting
// a container that just died waits for the engine's cleanup (~100 ms).
// A later add supersedes it.
func (q *queue) addGone(id, name string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return
	}
	q.gone[id] = name
	q.addLocked(id)
}

func (q *queue) addLocked(id string) {
	if q.closed {
		return
	}
	delete(q.delayed, id)
	switch {
	case q.active[id]:
		q.again[id] = true
	case !q.waiting[id]:
		q.waiting[id] = true
		q.order = append(q.order, id)
		q.cond.Signal()
	}
}

// addAfter queues id once d has passed, unless it is queued before.
func (q *queue) addAfter(id string, d time.Duration) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed || q.waiting[id] {
		return
	}
	due := time.Now().Add(d)
	if cur, ok := q.delayed[id]; ok && cur.Before(due) {
		return
	}
	q.delayed[id] = due
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// item is one queued container.
type item struct {
	id string
	// gone: the latest event said it stopped; name is its name then.
	gone bool
	name string
}

// get blocks until an ID is ready or the queue is closed (ok false).
func (q *queue) get() (it item, ok bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for len(q.order) == 0 && !q.closed {
		q.cond.Wait()
	}
	if q.closed {
		return item{}, false
	}
	it.id, q.order = q.order[0], q.order[1:]
	it.name, it.gone = q.gone[it.id]
	delete(q.gone, it.id)
	delete(q.waiting, it.id)
	q.active[it.id] = true
	return it, true
}

// done ends the handling of id; an add that came meanwhile queues it again.
func (q *queue) done(id string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	delete(q.active, id)
	if q.again[id] {
		delete(q.again, id)
		q.addLocked(id)
	}
}

// len is the number of IDs waiting or being handled.
func (q *queue) len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.order) + len(q.active)
}

// close wakes every worker with ok false and drops what is queued.
func (q *queue) close() {
	q.mu.Lock()
	q.closed = true
	q.order, q.waiting = nil, map[string]bool{}
	q.delayed, q.gone = map[string]time.Time{}, map[string]string{}
	q.cond.Broadcast()
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// runDelayed moves due retries into the queue until stop is closed. One
// timer, armed for the earliest retry only: nothing runs while idle.
func (q *queue) runDelayed(stop <-chan struct{}) {
	t := time.NewTimer(time.Hour)
	t.Stop()
	for {
		q.mu.Lock()
		var next time.Time
		now := time.Now()
		for id, due := range q.delayed {
			if !due.After(now) {
				delete(q.delayed, id)
				q.addLocked(id)
				continue
			}
			if next.IsZero() || due.Before(next) {
				next = due
			}
		}
		q.mu.Unlock()
		var fire <-chan time.Time
		if !next.IsZero() {
			t.Reset(time.Until(next))
			fire = t.C
		}
		select {
		case <-stop:
			t.Stop()
			return
		case <-q.wake:
		case <-fire:
		}
		if !t.Stop() {
			select {
			case <-t.C:
			default:
			}
		}
	}
}
