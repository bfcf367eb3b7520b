package registrar

import (
	"testing"
	"time"
)

func TestQueue_DedupAndAgain(t *testing.T) {
	q := newQueue()
	q.add("a")
	q.add("b")
	q.add("a") // waiting already: once
	id, _ := q.get()
	if id != "a" {
		t.Fatalf("got %q, want a", id)
	}
	q.add("a") // while active: handled again after done
	id2, _ := q.get()
	if id2 != "b" {
		t.Fatalf("got %q, want b (a is active)", id2)
	}
	if q.len() != 2 {
		t.Fatalf("len %d, want 2 active", q.len())
	}
	q.done("a")
	q.done("b")
	id, _ = q.get()
	if id != "a" {
		t.Fatalf("got %q, want a again", id)
	}
	q.done("a")
	if q.len() != 0 {
		t.Fatalf("len %d, want 0", q.len())
	}
	done := make(chan bool)
	go func() {
		_, ok := q.get()
		done <- ok
	}()
	q.close()
	if ok := <-done; ok {
		t.Fatal("get after close returned ok")
	}
	q.add("c")
	if q.len() != 0 {
		t.Fatal("add after close queued")
	}
}

func TestQueue_Delayed(t *testing.T) {
	q := newQueue()
	stop := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		q.runDelayed(stop)
		close(finished)
	}()
	defer func() {
		close(stop)
		<-finished
	}()
	start := time.Now()
	q.addAfter("x", 50*time.Millisecond)
	q.addAfter("y", time.Hour)
	q.add("y") // an add cancels y's pending retry
	if id, _ := q.get(); id != "y" {
		t.Fatalf("got %q, want y", id)
	}
	q.done("y")
	id, _ := q.get()
	if id != "x" || time.Since(start) < 50*time.Millisecond {
		t.Fatalf("got %q after %v, want x after 50ms", id, time.Since(start))
	}
	q.done("x")
	q.mu.Lock()
	n := len(q.delayed)
	q.mu.Unlock()
	if n != 0 {
		t.Fatalf("%d delayed left", n)
	}
}
