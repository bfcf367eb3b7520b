package raftstore

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/go-memdb"
	"github.com/minconsul/minconsul/structs"
)

// newDevStore starts an in-memory single-server store and waits until it
// leads; Shutdown runs at cleanup.
func newDevStore(t testing.TB) *Store {
	t.Helper()
	st, err := New(Config{Dev: true, NodeID: "node-id", NodeName: "node1"}, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	startStore(t, st)
	return st
}

func startStore(t testing.TB, st *Store) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := st.Start(ctx); err != nil {
		t.Fatalf("start: %v", err)
	}
	t.Cleanup(func() { st.Shutdown() })
	if err := st.WaitForLeader(ctx); err != nil {
		t.Fatalf("wait for leader: %v", err)
	}
}

func storeSet(t testing.TB, st *Store, key, value string) uint64 {
	t.Helper()
	idx, v, err := st.Apply(context.Background(), kvCmd(structs.KVSet, key, value, 0))
	if err != nil || v != true {
		t.Fatalf("KVSet %q: %v %v", key, v, err)
	}
	return idx
}

// blockingGet runs a blocking KVGet in a goroutine. calls counts how many
// times the query function ran; the result arrives on the channel.
type queryResult struct {
	meta    structs.QueryMeta
	entry   *structs.DirEntry
	err     error
	elapsed time.Duration
}

func blockingGet(ctx context.Context, st *Store, opts structs.QueryOptions, key string, calls *atomic.Int32) <-chan queryResult {
	out := make(chan queryResult, 1)
	go func() {
		var r queryResult
		start := time.Now()
		r.err = st.Query(ctx, opts, &r.meta, func(ws memdb.WatchSet) (uint64, error) {
			calls.Add(1)
			idx, e, err := st.State().KVGet(ws, &structs.KeyRequest{Key: key})
			r.entry = e
			return idx, err
		})
		r.elapsed = time.Since(start)
		out <- r
	}()
	return out
}

// waitFor polls cond until it holds or 10 s pass.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-deadline:
			t.Fatalf("timed out waiting for %s", what)
		case <-tick.C:
		}
	}
}

func receive(t testing.TB, ch <-chan queryResult, within time.Duration) queryResult {
	t.Helper()
	select {
	case r := <-ch:
		return r
	case <-time.After(within):
		t.Fatalf("query did not return within %v", within)
		return queryResult{}
	}
}

func TestStore_Apply(t *testing.T) {
	st := newDevStore(t)
	ctx := context.Background()

	i1 := storeSet(t, st, "foo", "bar")
	if i1 < 1 {
		t.Fatalf("index %d", i1)
	}
	_, e, _ := st.State().KVGet(nil, &structs.KeyRequest{Key: "foo"})
	if e == nil || string(e.Value) != "bar" || e.ModifyIndex != i1 {
		t.Fatalf("KVGet = %+v", e)
	}
	// A failed CAS is a false result, not an error.
	i2, v, err := st.Apply(ctx, kvCmd(structs.KVCAS, "foo", "baz", 0))
	if err != nil || v != false || i2 <= i1 {
		t.Fatalf("CAS = %d %v %v", i2, v, err)
	}
	// FSM validation errors come back as BadRequest.
	_, v, err = st.Apply(ctx, structs.Command{Type: structs.CatalogRegister, Register: &structs.RegisterRequest{Address: "x"}})
	var se *structs.Error
	if !errors.Is(err, structs.ErrBadRequest) || !errors.As(err, &se) || se.Msg != "Must provide node" || v != nil {
		t.Fatalf("bad register: %v %v", v, err)
	}
	// Catalog commands give nil.
	_, v, err = st.Apply(ctx, structs.Command{Type: structs.CatalogRegister, Register: webRegistration()})
	if err != nil || v != nil {
		t.Fatalf("register: %v %v", v, err)
	}
	if _, sns, _ := st.State().ServiceNodes(nil, &structs.ServiceSpecificRequest{ServiceName: "web", ServiceTags: []string{"PRIMARY"}}); len(sns) != 1 {
		t.Fatalf("ServiceNodes via Store = %v", sns)
	}

	if st.Leader() == "" {
		t.Fatal("no leader address")
	}
	peers, err := st.Peers()
	if err != nil || len(peers) != 1 || peers[0] != st.Leader() {
		t.Fatalf("Peers = %v %v (leader %q)", peers, err, st.Leader())
	}
	rc, err := st.RaftConfiguration()
	if err != nil || len(rc.Servers) != 1 || !rc.Servers[0].Leader || !rc.Servers[0].Voter || rc.Servers[0].Node != "node1" {
		t.Fatalf("RaftConfiguration = %+v %v", rc, err)
	}
}

func TestStore_ShutdownIdempotent(t *testing.T) {
	st := newDevStore(t)
	if err := st.Shutdown(); err != nil {
		t.Fatal(err)
	}
	if err := st.Shutdown(); err != nil {
		t.Fatal(err)
	}
	// Requests arriving during shutdown fail at once, not after ApplyTimeout.
	start := time.Now()
	if _, _, err := st.Apply(context.Background(), kvCmd(structs.KVSet, "k", "v", 0)); !errors.Is(err, structs.ErrShutdown) {
		t.Fatalf("apply after shutdown: %v, want ErrShutdown", err)
	}
	var meta structs.QueryMeta
	err := st.Query(context.Background(), structs.QueryOptions{}, &meta, func(memdb.WatchSet) (uint64, error) { return 1, nil })
	if !errors.Is(err, structs.ErrShutdown) {
		t.Fatalf("query after shutdown: %v, want ErrShutdown", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Fatalf("requests after shutdown took %v", d)
	}
}

func TestStore_QueryWithoutIndexRunsOnce(t *testing.T) {
	st := newDevStore(t)
	for _, c := range []structs.Consistency{structs.ConsistencyDefault, structs.ConsistencyConsistent, structs.ConsistencyStale} {
		var calls int
		var meta structs.QueryMeta
		err := st.Query(context.Background(), structs.QueryOptions{Consistency: c}, &meta, func(ws memdb.WatchSet) (uint64, error) {
			calls++
			idx, _, err := st.State().KVGet(ws, &structs.KeyRequest{Key: "missing"})
			return idx, err
		})
		if err != nil || calls != 1 {
			t.Fatalf("consistency %d: err=%v calls=%d", c, err, calls)
		}
		// Nothing of ours written yet: the index is still at least 1.
		if meta.Index < 1 || !meta.KnownLeader {
			t.Fatalf("consistency %d: meta = %+v", c, meta)
		}
	}
	idx := storeSet(t, st, "k", "v")
	var meta structs.QueryMeta
	err := st.Query(context.Background(), structs.QueryOptions{}, &meta, func(ws memdb.WatchSet) (uint64, error) {
		i, _, err := st.State().KVGet(ws, &structs.KeyRequest{Key: "k"})
		return i, err
	})
	if err != nil || meta.Index != idx {
		t.Fatalf("meta.Index = %d, want %d (%v)", meta.Index, idx, err)
	}
}

func TestStore_QueryErrorPassesThrough(t *testing.T) {
	st := newDevStore(t)
	boom := errors.New("boom")
	var meta structs.QueryMeta
	for _, min := range []uint64{0, 5} {
		err := st.Query(context.Background(), structs.QueryOptions{MinIndex: min, MaxWait: time.Second}, &meta,
			func(memdb.WatchSet) (uint64, error) { return 5, boom })
		if !errors.Is(err, boom) {
			t.Fatalf("MinIndex %d: err = %v", min, err)
		}
	}
}

func TestStore_BlockingQueryWokenByApply(t *testing.T) {
	for _, c := range []structs.Consistency{structs.ConsistencyDefault, structs.ConsistencyStale} {
		st := newDevStore(t)
		idx := storeSet(t, st, "key", "v1")
		storeSet(t, st, "other", "x")

		var calls atomic.Int32
		res := blockingGet(context.Background(), st, structs.QueryOptions{MinIndex: idx, MaxWait: 30 * time.Second, Consistency: c}, "key", &calls)
		// Once fn has run, its watch channels are registered: a write now wakes it.
		waitFor(t, "the query to run", func() bool { return calls.Load() >= 1 })
		start := time.Now()
		next := storeSet(t, st, "key", "v2")
		r := receive(t, res, 5*time.Second)
		if r.err != nil || r.meta.Index != next || r.entry == nil || string(r.entry.Value) != "v2" {
			t.Fatalf("consistency %d: woken query = %+v (want index %d)", c, r, next)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Fatalf("woken query took %v", d)
		}
	}
}

func TestStore_BlockingQueryTimesOut(t *testing.T) {
	st := newDevStore(t)
	idx := storeSet(t, st, "key", "v1")
	var calls atomic.Int32
	res := blockingGet(context.Background(), st, structs.QueryOptions{MinIndex: idx, MaxWait: 100 * time.Millisecond}, "key", &calls)
	waitFor(t, "the query to run", func() bool { return calls.Load() >= 1 })
	// A write to another key must neither wake nor re-run it.
	storeSet(t, st, "unrelated", "x")
	r := receive(t, res, 5*time.Second)
	if r.err != nil || r.meta.Index != idx || r.entry == nil || string(r.entry.Value) != "v1" {
		t.Fatalf("timed-out query = %+v (want index %d)", r, idx)
	}
	// 100 ms plus at most 100/16 ms of jitter; generous upper bound for -race.
	if r.elapsed < 100*time.Millisecond || r.elapsed > 2*time.Second {
		t.Fatalf("query returned after %v, want about 100ms", r.elapsed)
	}
	if n := calls.Load(); n != 1 {
		t.Fatalf("query ran %d times; an unrelated write must not wake it", n)
	}
}

func TestStore_BlockingQueryContextCancel(t *testing.T) {
	st := newDevStore(t)
	idx := storeSet(t, st, "key", "v1")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var calls atomic.Int32
	res := blockingGet(ctx, st, structs.QueryOptions{MinIndex: idx, MaxWait: 10 * time.Minute}, "key", &calls)
	waitFor(t, "the query to run", func() bool { return calls.Load() >= 1 })
	start := time.Now()
	cancel() // the client went away
	receive(t, res, 2*time.Second)
	if d := time.Since(start); d > time.Second {
		t.Fatalf("cancelled query took %v to return", d)
	}
}

func TestStore_BlockingQueryMissingKey(t *testing.T) {
	st := newDevStore(t)
	storeSet(t, st, "a", "x")
	var meta structs.QueryMeta
	if err := st.Query(context.Background(), structs.QueryOptions{}, &meta, func(ws memdb.WatchSet) (uint64, error) {
		i, _, err := st.State().KVGet(ws, &structs.KeyRequest{Key: "later"})
		return i, err
	}); err != nil {
		t.Fatal(err)
	}
	var calls atomic.Int32
	res := blockingGet(context.Background(), st, structs.QueryOptions{MinIndex: meta.Index, MaxWait: 30 * time.Second}, "later", &calls)
	waitFor(t, "the query to run", func() bool { return calls.Load() >= 1 })
	created := storeSet(t, st, "later", "now")
	r := receive(t, res, 5*time.Second)
	if r.err != nil || r.entry == nil || r.meta.Index != created {
		t.Fatalf("query on a created key = %+v, want index %d", r, created)
	}
}

func TestStore_BlockingQueryWokenByRestore(t *testing.T) {
	st := newDevStore(t)
	idx := storeSet(t, st, "key", "v1")

	// A snapshot in which the key has another value at a later index.
	h := newHarness(t)
	h.idx = idx + 10
	h.kvSet("key", "restored")
	data := persist(t, mustSnapshot(t, h.fsm))

	var calls atomic.Int32
	res := blockingGet(context.Background(), st, structs.QueryOptions{MinIndex: idx, MaxWait: 30 * time.Second}, "key", &calls)
	waitFor(t, "the query to run", func() bool { return calls.Load() >= 1 })
	if err := st.fsm.Restore(nopCloser(data)); err != nil {
		t.Fatal(err)
	}
	r := receive(t, res, 5*time.Second)
	if r.err != nil || r.entry == nil || string(r.entry.Value) != "restored" || r.meta.Index != idx+11 {
		t.Fatalf("query after restore = %+v", r)
	}
}
