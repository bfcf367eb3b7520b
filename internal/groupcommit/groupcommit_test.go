package groupcommit

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"
)

// recorder is a submit that records its batches and answers each request
// with its own value doubled; a request of -1 fails.
type recorder struct {
	mu      sync.Mutex
	batches [][]int
}

func (r *recorder) submit(reqs []int) []Outcome[int] {
	r.mu.Lock()
	r.batches = append(r.batches, append([]int(nil), reqs...))
	r.mu.Unlock()
	out := make([]Outcome[int], len(reqs))
	for i, q := range reqs {
		if q < 0 {
			out[i].Err = fmt.Errorf("refused %d", q)
			continue
		}
		out[i].Val = 2 * q
	}
	return out
}

func (r *recorder) get() [][]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([][]int(nil), r.batches...)
}

func one(int) int { return 1 }

func waitQueued(t *testing.T, g *Group[int, int], n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for g.Queued() != n {
		if time.Now().After(deadline) {
			t.Fatalf("%d queued, want %d", g.Queued(), n)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestGroup_LoneCallGoesAlone(t *testing.T) {
	rec := &recorder{}
	g := New(Config{}, one, rec.submit)
	defer g.Close()
	for i := 1; i <= 3; i++ {
		v, err := g.Do(i)
		if err != nil || v != 2*i {
			t.Fatalf("Do(%d) = %d, %v", i, v, err)
		}
	}
	if b := rec.get(); fmt.Sprint(b) != "[[1] [2] [3]]" {
		t.Fatalf("batches %v, want one per sequential call", b)
	}
}

// Calls that arrive while the slot is busy go out together, in arrival
// order, and each gets its own outcome (an error stays with its call).
func TestGroup_QueuedCallsShareABatch(t *testing.T) {
	rec := &recorder{}
	g := New(Config{Slots: 1}, one, rec.submit)
	defer g.Close()
	release := g.Hold()
	type res struct {
		q, v int
		err  error
	}
	results := make(chan res, 5)
	for i, q := range []int{1, 2, -1, 4, 5} {
		go func() {
			v, err := g.Do(q)
			results <- res{q, v, err}
		}()
		waitQueued(t, g, i+1)
	}
	release()
	for i := 0; i < 5; i++ {
		r := <-results
		if r.q < 0 {
			if r.err == nil {
				t.Errorf("call %d: no error", r.q)
			}
			continue
		}
		if r.err != nil || r.v != 2*r.q {
			t.Errorf("call %d: %d %v", r.q, r.v, r.err)
		}
	}
	if b := rec.get(); fmt.Sprint(b) != "[[1 2 -1 4 5]]" {
		t.Fatalf("batches %v, want one batch in arrival order", b)
	}
}

func TestGroup_Limits(t *testing.T) {
	rec := &recorder{}
	g := New(Config{Slots: 1, MaxOps: 3, MaxBytes: 1 << 20}, func(q int) int { return q }, rec.submit)
	defer g.Close()
	release := g.Hold()
	var wg sync.WaitGroup
	for i, q := range []int{1, 2, 3, 4, 5} {
		wg.Add(1)
		go func() { defer wg.Done(); _, _ = g.Do(q) }()
		waitQueued(t, g, i+1)
	}
	release()
	wg.Wait()
	if b := rec.get(); fmt.Sprint(b) != "[[1 2 3] [4 5]]" {
		t.Fatalf("batches %v, want at most 3 calls each", b)
	}

	// By size: a batch stops once it reaches MaxBytes.
	rec2 := &recorder{}
	g2 := New(Config{Slots: 1, MaxBytes: 10}, func(q int) int { return q }, rec2.submit)
	defer g2.Close()
	release = g2.Hold()
	for i, q := range []int{6, 5, 1, 2} {
		wg.Add(1)
		go func() { defer wg.Done(); _, _ = g2.Do(q) }()
		waitQueued(t, g2, i+1)
	}
	release()
	wg.Wait()
	if b := rec2.get(); fmt.Sprint(b) != "[[6 5] [1 2]]" {
		t.Fatalf("batches %v, want a cut after 11 bytes", b)
	}
}

func TestGroup_DoAllKeepsOrder(t *testing.T) {
	rec := &recorder{}
	g := New(Config{Slots: 1}, one, rec.submit)
	defer g.Close()
	release := g.Hold()
	done := make(chan []Outcome[int])
	go func() { done <- g.DoAll([]int{7, 8, 9}) }()
	waitQueued(t, g, 3)
	release()
	out := <-done
	for i, q := range []int{7, 8, 9} {
		if out[i].Err != nil || out[i].Val != 2*q {
			t.Errorf("outcome %d: %+v", i, out[i])
		}
	}
	if b := rec.get(); fmt.Sprint(b) != "[[7 8 9]]" {
		t.Fatalf("batches %v", b)
	}
}

func TestGroup_CloseFailsQueued(t *testing.T) {
	rec := &recorder{}
	g := New(Config{}, one, rec.submit)
	release := g.Hold()
	errs := make(chan error, 3)
	for i := 0; i < 3; i++ {
		go func() { _, err := g.Do(i); errs <- err }()
		waitQueued(t, g, i+1)
	}
	closed := make(chan struct{})
	go func() { g.Close(); close(closed) }()
	for i := 0; i < 3; i++ {
		select {
		case err := <-errs:
			if !errors.Is(err, ErrClosed) {
				t.Errorf("queued call: %v, want ErrClosed", err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("a queued call hangs after Close")
		}
	}
	select {
	case <-closed:
		t.Fatal("Close returned while a slot was still held")
	default:
	}
	release()
	<-closed
	if _, err := g.Do(1); !errors.Is(err, ErrClosed) {
		t.Fatalf("call after Close: %v", err)
	}
	if len(rec.get()) != 0 {
		t.Fatalf("submitted after Close: %v", rec.get())
	}
}

// Many concurrent callers: every call answered exactly once, no batch
// beyond the limits.
func TestGroup_Concurrent(t *testing.T) {
	rec := &recorder{}
	g := New(Config{Slots: 2, MaxOps: 8}, one, rec.submit)
	defer g.Close()
	var wg sync.WaitGroup
	for w := 0; w < 32; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 50; i++ {
				q := w*1000 + i
				if v, err := g.Do(q); err != nil || v != 2*q {
					t.Errorf("Do(%d) = %d, %v", q, v, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	seen := map[int]bool{}
	for _, b := range rec.get() {
		if len(b) > 8 {
			t.Errorf("batch of %d", len(b))
		}
		for _, q := range b {
			if seen[q] {
				t.Errorf("%d submitted twice", q)
			}
			seen[q] = true
		}
	}
	if len(seen) != 32*50 {
		t.Fatalf("%d calls submitted, want %d", len(seen), 32*50)
	}
}

// After a batch of several, the next batch waits for calls that keep
// arriving within the gap; after a batch of one it goes at once.
func TestGroup_Linger(t *testing.T) {
	rec := &recorder{}
	g := New(Config{Slots: 1, LingerGap: time.Second, Linger: func(lastOps int) time.Duration {
		if lastOps < 2 {
			return 0
		}
		return 5 * time.Second
	}}, one, rec.submit)
	defer g.Close()

	start := time.Now()
	for i := 1; i <= 2; i++ {
		if _, err := g.Do(i); err != nil {
			t.Fatal(err)
		}
	}
	if d := time.Since(start); d > 900*time.Millisecond {
		t.Fatalf("lone calls took %s: they lingered", d)
	}

	release := g.Hold()
	var wg sync.WaitGroup
	for i, q := range []int{3, 4} {
		wg.Add(1)
		go func() { defer wg.Done(); _, _ = g.Do(q) }()
		waitQueued(t, g, i+1)
	}
	release()
	wg.Wait() // batch [3 4]: the next one lingers
	for i, q := range []int{5, 6} {
		wg.Add(1)
		go func() { defer wg.Done(); _, _ = g.Do(q) }()
		if i == 0 {
			waitQueued(t, g, 1)
		}
	}
	wg.Wait()
	if b := rec.get(); fmt.Sprint(b) != "[[1] [2] [3 4] [5 6]]" {
		t.Fatalf("batches %v: 6 should have joined 5 while it lingered", b)
	}
}

// A call already in flight when Close comes gets its batch's real outcome,
// and Close waits for it.
func TestGroup_CloseWaitsForInFlight(t *testing.T) {
	entered, unblock := make(chan struct{}), make(chan struct{})
	g := New(Config{}, one, func(reqs []int) []Outcome[int] {
		close(entered)
		<-unblock
		return []Outcome[int]{{Val: 2 * reqs[0]}}
	})
	res := make(chan Outcome[int], 1)
	go func() { v, err := g.Do(21); res <- Outcome[int]{v, err} }()
	<-entered
	closed := make(chan struct{})
	go func() { g.Close(); close(closed) }()
	select {
	case <-closed:
		t.Fatal("Close returned with a batch in flight")
	case <-time.After(50 * time.Millisecond): // Close must still be waiting
	}
	close(unblock)
	if o := <-res; o.Err != nil || o.Val != 42 {
		t.Fatalf("in-flight call across Close: %+v, want 42", o)
	}
	<-closed
}
