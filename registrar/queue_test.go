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
	it, _ := q.get()
	if it.id != "a" || it.gone {
		t.Fatalf("got %+v, want a", it)
	}
	q.addGone("a", "name-a") // while active: handled again after done
	it2, _ := q.get()
	if it2.id != "b" {
		t.Fatalf("got %+v, want b (a is active)", it2)
	}
	if q.len() != 2 {
		t.Fatalf("len %d, want 2 active", q.len())
	}
	q.done("a")
	q.done("b")
	it, _ = q.get()
	if it.id != "a" || !it.gone || it.name != "name-a" {
		t.Fatalf("got %+v, want a again, gone", it)
	}
	q.done("a")
	q.addGone("a", "x")
	q.add("a") // a later event supersedes the news
	if it, _ = q.get(); it.gone {
		t.Fatalf("got %+v, want a to look at", it)
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
	if it, _ := q.get(); it.id != "y" {
		t.Fatalf("got %+v, want y", it)
	}
	q.done("y")
	it, _ := q.get()
	if it.id != "x" || time.Since(start) < 50*time.Millisecond {
		t.Fatalf("got %+v after %v, want x after 50ms", it, time.Since(start))
	}
	q.done("x")
	q.mu.Lock()
	n := len(q.delayed)
	q.mu.Unlock()
	if n != 0 {
		t.Fatalf("%d delayed left", n)
	}
}
