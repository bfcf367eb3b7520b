package raftstore

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/go-memdb"
	"github.com/hashicorp/raft"
	"github.com/minconsul/minconsul/structs"
)

// A lone server confirms its own leadership without a Raft round; once its
// latest configuration names a second voter (appended, not yet committed:
// the peer does not exist) that shortcut is gone, and with no quorum to
// confirm it a linearizable read fails instead of answering.
func TestStore_SoleVoterShortcutEndsWithSecondVoter(t *testing.T) {
	st := newDevStore(t)
	if !st.soleVoter() {
		t.Fatal("lone dev server is not its sole voter")
	}
	read := func(c structs.Consistency, within time.Duration) error {
		ctx, cancel := context.WithTimeout(context.Background(), within)
		defer cancel()
		var meta structs.QueryMeta
		return st.Query(ctx, structs.QueryOptions{Consistency: c}, &meta, func(ws memdb.WatchSet) (uint64, error) {
			idx, _, err := st.State().KVGet(ws, &structs.KeyRequest{Key: "k"})
			return idx, err
		})
	}
	if err := read(structs.ConsistencyConsistent, 5*time.Second); err != nil {
		t.Fatalf("consistent read on a lone leader: %v", err)
	}
	// Never committed: the future is left alone.
	st.raft.AddVoter("ghost", "ghost-addr", 0, 0)
	waitFor(t, "the latest configuration to name two voters", func() bool { return !st.soleVoter() })
	for _, c := range []structs.Consistency{structs.ConsistencyDefault, structs.ConsistencyConsistent} {
		if err := read(c, 500*time.Millisecond); err == nil {
			t.Fatalf("consistency %d: a leader without a quorum answered", c)
		}
	}
}

// countRounds makes st confirm leadership through counted quorum rounds
// (as a server with peers does) and returns the counter; fail makes the
// rounds fail.
func countRounds(st *Store, fail *atomic.Bool) *atomic.Int32 {
	var n atomic.Int32
	run := st.verifier.run
	st.verifier.alone = func() bool { return false }
	st.verifier.run = func() error {
		n.Add(1)
		if fail != nil && fail.Load() {
			return raft.ErrNotLeader
		}
		return run()
	}
	return &n
}

// A blocking ?consistent read confirms with a quorum once, before it
// answers (not also on arrival), after the wake or at the end of its wait;
// a default one confirms on arrival and checks locally after a wake.
func TestStore_ConsistentBlockingReadConfirmsOnceBeforeAnswering(t *testing.T) {
	consistent := func(min uint64, wait time.Duration) structs.QueryOptions {
		return structs.QueryOptions{MinIndex: min, MaxWait: wait, Consistency: structs.ConsistencyConsistent}
	}
	t.Run("woken", func(t *testing.T) {
		st := newDevStore(t)
		idx := storeSet(t, st, "key", "v1")
		rounds := countRounds(st, nil)
		var calls atomic.Int32
		res := blockingGet(context.Background(), st, consistent(idx, 30*time.Second), "key", &calls)
		waitFor(t, "the query to park", func() bool { return st.BlockingQueries() == 1 })
		if n := rounds.Load(); n != 0 {
			t.Fatalf("%d quorum rounds before the read answers", n)
		}
		next := storeSet(t, st, "key", "v2")
		r := receive(t, res, 5*time.Second)
		if r.err != nil || r.meta.Index != next || string(r.entry.Value) != "v2" {
			t.Fatalf("woken read = %+v (want index %d)", r, next)
		}
		if n := rounds.Load(); n != 1 {
			t.Fatalf("%d quorum rounds, want 1", n)
		}
	})
	t.Run("answers at once", func(t *testing.T) {
		st := newDevStore(t)
		idx := storeSet(t, st, "key", "v1")
		rounds := countRounds(st, nil)
		var calls atomic.Int32
		r := receive(t, blockingGet(context.Background(), st, consistent(idx-1, 30*time.Second), "key", &calls), 5*time.Second)
		if r.err != nil || r.meta.Index != idx || rounds.Load() != 1 {
			t.Fatalf("read = %+v after %d rounds (want index %d, 1 round)", r, rounds.Load(), idx)
		}
	})
	t.Run("wait over", func(t *testing.T) {
		st := newDevStore(t)
		idx := storeSet(t, st, "key", "v1")
		rounds := countRounds(st, nil)
		var calls atomic.Int32
		r := receive(t, blockingGet(context.Background(), st, consistent(idx, 50*time.Millisecond), "key", &calls), 5*time.Second)
		if r.err != nil || r.meta.Index != idx || string(r.entry.Value) != "v1" || rounds.Load() != 1 {
			t.Fatalf("read = %+v after %d rounds (want index %d, 1 round)", r, rounds.Load(), idx)
		}
	})
	t.Run("confirmation fails", func(t *testing.T) {
		st := newDevStore(t)
		idx := storeSet(t, st, "key", "v1")
		var fail atomic.Bool
		rounds := countRounds(st, &fail)
		var calls atomic.Int32
		res := blockingGet(context.Background(), st, consistent(idx, 30*time.Second), "key", &calls)
		waitFor(t, "the query to park", func() bool { return st.BlockingQueries() == 1 })
		fail.Store(true)
		storeSet(t, st, "key", "v2")
		r := receive(t, res, 5*time.Second)
		if !errors.Is(r.err, structs.ErrNotLeader) || rounds.Load() != 1 {
			t.Fatalf("read = %+v after %d rounds, want ErrNotLeader after 1", r, rounds.Load())
		}
	})
	t.Run("default", func(t *testing.T) {
		st := newDevStore(t)
		idx := storeSet(t, st, "key", "v1")
		rounds := countRounds(st, nil)
		var calls atomic.Int32
		res := blockingGet(context.Background(), st, structs.QueryOptions{MinIndex: idx, MaxWait: 30 * time.Second}, "key", &calls)
		waitFor(t, "the query to park", func() bool { return st.BlockingQueries() == 1 })
		if n := rounds.Load(); n != 1 {
			t.Fatalf("%d quorum rounds on arrival, want 1", n)
		}
		next := storeSet(t, st, "key", "v2")
		if r := receive(t, res, 5*time.Second); r.err != nil || r.meta.Index != next || rounds.Load() != 1 {
			t.Fatalf("read = %+v after %d rounds (want index %d, 1 round)", r, rounds.Load(), next)
		}
	})
}
