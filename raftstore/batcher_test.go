package raftstore

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/raft"
	"github.com/minconsul/minconsul/structs"
)

func encodeCmd(t *testing.T, c structs.Command) []byte {
	t.Helper()
	b, err := structs.Encode(&c)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// A KVBatch entry applies its elements in order, all at the entry's index;
// an element that is not a KV command, or not a command at all, is refused
// alone.
func TestFSM_KVBatchEntry(t *testing.T) {
	h := newHarness(t)
	populate(h)
	_, appA, _ := h.state().KVGet(nil, &structs.KeyRequest{Key: "app/a"})
	_, nodesBefore, _ := h.state().Nodes(nil, &structs.DCSpecificRequest{})
	idx := h.idx + 1
	batch := structs.Command{Type: structs.KVBatch, Batch: [][]byte{
		encodeCmd(t, kvCmd(structs.KVSet, "batch/a", "1", 0)),
		encodeCmd(t, kvCmd(structs.KVCAS, "batch/a", "2", 0)), // exists now: false
		encodeCmd(t, kvCmd(structs.KVSet, "batch/b", "x", 0)),
		encodeCmd(t, kvCmd(structs.KVDeleteCAS, "batch/b", "", idx)), // b was written at idx: true
		encodeCmd(t, structs.Command{Type: structs.CatalogRegister, Register: regService("n1", "10.0.0.1", "web", "web", 80)}),
		[]byte("not msgpack"),
		encodeCmd(t, kvCmd(structs.KVCAS, "app/a", "new", 0)), // exists: false
		encodeCmd(t, kvCmd(structs.KVSet, "batch/c", "3", 0)),
	}}
	res, ok := h.applyRaw(encodeCmd(t, batch)).(BatchResult)
	if !ok || len(res) != len(batch.Batch) {
		t.Fatalf("result %#v, want a BatchResult of %d", res, len(batch.Batch))
	}
	want := []string{"value true", "value false", "value true", "value true",
		"err CatalogRegister in a KV batch (bad request true)", "", "value false", "value true"}
	for i, w := range want {
		got := resultString(res[i])
		if i == 5 {
			if r, _ := res[i].(applyResult); !isBadRequest(r.Err) {
				t.Errorf("element %d: %s, want a decode error", i, got)
			}
			continue
		}
		if got != w {
			t.Errorf("element %d: %s, want %s", i, got, w)
		}
	}
	st := h.state()
	for key, v := range map[string]string{"batch/a": "1", "batch/c": "3"} {
		_, e, err := st.KVGet(nil, &structs.KeyRequest{Key: key})
		if err != nil || e == nil {
			t.Fatalf("get %s: %v %v", key, e, err)
		}
		if string(e.Value) != v || e.CreateIndex != idx || e.ModifyIndex != idx {
			t.Errorf("%s = %q @%d/%d, want %q @%d/%d", key, e.Value, e.CreateIndex, e.ModifyIndex, v, idx, idx)
		}
	}
	if _, e, _ := st.KVGet(nil, &structs.KeyRequest{Key: "batch/b"}); e != nil {
		t.Errorf("batch/b survived its delete: %+v", e)
	}
	if i, _, _ := st.KVList(nil, &structs.KeyRequest{Key: "batch/"}); i != idx {
		t.Errorf("batch/ index %d, want %d (the tombstone's)", i, idx)
	}
	if _, e, _ := st.KVGet(nil, &structs.KeyRequest{Key: "app/a"}); string(e.Value) != string(appA.Value) || e.ModifyIndex != appA.ModifyIndex {
		t.Errorf("app/a overwritten by a failed CAS: %q @%d", e.Value, e.ModifyIndex)
	}
	if _, nodes, _ := st.Nodes(nil, &structs.DCSpecificRequest{}); len(nodes) != len(nodesBefore) {
		t.Errorf("a catalog command inside a KV batch was applied: %v", nodes)
	}
}

// Inside a raft batch, KVBatch entries join the run of plain KV entries
// around them and a catalog entry still splits the run.
func TestFSM_KVBatchInsideApplyBatch(t *testing.T) {
	h := newHarness(t)
	first := h.idx + 1
	logs := []*raft.Log{
		{Type: raft.LogCommand, Index: first, Data: encodeCmd(t, kvCmd(structs.KVSet, "k", "1", 0))},
		{Type: raft.LogCommand, Index: first + 1, Data: encodeCmd(t, structs.Command{Type: structs.KVBatch, Batch: [][]byte{
			encodeCmd(t, kvCmd(structs.KVCAS, "k", "2", first)),
			encodeCmd(t, kvCmd(structs.KVCAS, "k", "3", first)), // k is at first+1 now
		}})},
		{Type: raft.LogCommand, Index: first + 2, Data: encodeCmd(t, structs.Command{Type: structs.CatalogRegister, Register: regService("n1", "10.0.0.1", "web", "web", 80)})},
		{Type: raft.LogCommand, Index: first + 3, Data: encodeCmd(t, structs.Command{Type: structs.KVBatch, Batch: [][]byte{
			encodeCmd(t, kvCmd(structs.KVCAS, "k", "4", first+1)),
		}})},
	}
	out := h.fsm.ApplyBatch(logs)
	if got := resultString(out[0]); got != "value true" {
		t.Errorf("log 0: %s", got)
	}
	b1, _ := out[1].(BatchResult)
	if len(b1) != 2 || resultString(b1[0]) != "value true" || resultString(b1[1]) != "value false" {
		t.Errorf("log 1: %#v", out[1])
	}
	if got := resultString(out[2]); got != "value <nil>" {
		t.Errorf("log 2: %s", got)
	}
	b3, _ := out[3].(BatchResult)
	if len(b3) != 1 || resultString(b3[0]) != "value true" {
		t.Errorf("log 3: %#v", out[3])
	}
	_, e, _ := h.state().KVGet(nil, &structs.KeyRequest{Key: "k"})
	if string(e.Value) != "4" || e.ModifyIndex != first+3 || e.CreateIndex != first {
		t.Errorf("k = %q @%d/%d", e.Value, e.CreateIndex, e.ModifyIndex)
	}
}

// waitQueued waits until n writes wait for the batcher.
func waitQueued(t *testing.T, st *Store, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for st.batcher.Queued() != n {
		if time.Now().After(deadline) {
			t.Fatalf("%d writes queued, want %d", st.batcher.Queued(), n)
		}
		time.Sleep(time.Millisecond)
	}
}

// Writes that queue while an entry is in flight go to Raft together, as
// one entry, and each writer still gets its own result.
func TestStore_BatcherGroupsQueuedWrites(t *testing.T) {
	st := newDevStore(t)
	ctx := context.Background()
	if _, _, err := st.Apply(ctx, kvCmd(structs.KVSet, "cas", "0", 0)); err != nil {
		t.Fatal(err)
	}
	_, e, _ := st.State().KVGet(nil, &structs.KeyRequest{Key: "cas"})
	release := st.batcher.Hold()
	const n = 20
	type out struct {
		idx uint64
		res any
		err error
	}
	outs := make([]out, n+1)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			idx, res, err := st.Apply(ctx, kvCmd(structs.KVSet, fmt.Sprintf("k/%02d", i), "v", 0))
			outs[i] = out{idx, res, err}
		}()
	}
	waitQueued(t, st, n)
	// Two CAS writes on one key in one entry: the first wins.
	wg.Add(1)
	go func() {
		defer wg.Done()
		idx, res, err := st.Apply(ctx, kvCmd(structs.KVCAS, "cas", "1", e.ModifyIndex))
		outs[n] = out{idx, res, err}
	}()
	waitQueued(t, st, n+1)
	idx, res, err := func() (uint64, any, error) {
		done := make(chan out, 1)
		go func() {
			i, r, err := st.Apply(ctx, kvCmd(structs.KVCAS, "cas", "2", e.ModifyIndex))
			done <- out{i, r, err}
		}()
		waitQueued(t, st, n+2)
		release()
		o := <-done
		return o.idx, o.res, o.err
	}()
	wg.Wait()
	if err != nil || res != false {
		t.Errorf("second CAS in the entry: %v %v, want false", res, err)
	}
	for i, o := range outs {
		if o.err != nil || o.res != true {
			t.Errorf("write %d: %v %v", i, o.res, o.err)
		}
		if o.idx != idx {
			t.Errorf("write %d at index %d, want the shared entry index %d", i, o.idx, idx)
		}
	}
	if _, e, _ := st.State().KVGet(nil, &structs.KeyRequest{Key: "cas"}); string(e.Value) != "1" || e.ModifyIndex != idx {
		t.Errorf("cas = %q @%d", e.Value, e.ModifyIndex)
	}
	_, keys, _ := st.State().KVKeys(nil, &structs.KeyListRequest{Prefix: "k/", Separator: ""})
	if len(keys) != n {
		t.Errorf("%d keys written, want %d", len(keys), n)
	}
	if last := st.raft.LastIndex(); last != idx {
		t.Errorf("raft last index %d, want %d: the queued writes took more than one entry", last, idx)
	}
}

// Writes queued when the store shuts down fail with ErrShutdown instead of
// hanging.
func TestStore_BatcherShutdownFailsQueued(t *testing.T) {
	st := newDevStore(t)
	release := st.batcher.Hold()
	errs := make(chan error, 3)
	for i := 0; i < 3; i++ {
		go func() {
			_, _, err := st.Apply(context.Background(), kvCmd(structs.KVSet, fmt.Sprint("k", i), "v", 0))
			errs <- err
		}()
	}
	waitQueued(t, st, 3)
	shut := make(chan error, 1)
	go func() { shut <- st.Shutdown() }()
	for i := 0; i < 3; i++ {
		select {
		case err := <-errs:
			if !errors.Is(err, structs.ErrShutdown) {
				t.Errorf("queued write: %v, want ErrShutdown", err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("a queued write hangs after shutdown")
		}
	}
	release() // the held slot stands for an entry in flight, which shutdown waits for
	if err := <-shut; err != nil {
		t.Fatal(err)
	}
}

// A KVBatch a follower forwards: each element joins the leader's batching
// and gets its own outcome, in order.
func TestStore_ApplyForwardedKVBatch(t *testing.T) {
	st := newDevStore(t)
	cmd := structs.Command{Type: structs.KVBatch, Batch: [][]byte{
		encodeCmd(t, kvCmd(structs.KVSet, "f/a", "1", 0)),
		encodeCmd(t, kvCmd(structs.KVCAS, "f/a", "2", 0)), // exists by now: false
		encodeCmd(t, structs.Command{Type: structs.CatalogRegister, Register: regService("n1", "10.0.0.1", "web", "web", 80)}),
		encodeCmd(t, kvCmd(structs.KVDelete, "f/none", "", 0)),
	}}
	_, res, err := st.Apply(context.Background(), cmd)
	if err != nil {
		t.Fatal(err)
	}
	outs, ok := res.([]structs.BatchOutcome)
	if !ok || len(outs) != 4 {
		t.Fatalf("result %#v", res)
	}
	if o := outs[0]; o.Err != nil || o.Value != true || o.Index == 0 {
		t.Errorf("set: %+v", o)
	}
	if o := outs[1]; o.Err != nil || o.Value != false || o.Index < outs[0].Index {
		t.Errorf("cas: %+v", o)
	}
	if o := outs[2]; !isBadRequest(o.Err) {
		t.Errorf("catalog element: %+v, want a bad request", o)
	}
	if o := outs[3]; o.Err != nil || o.Value != true {
		t.Errorf("delete: %+v", o)
	}
	if _, e, _ := st.State().KVGet(nil, &structs.KeyRequest{Key: "f/a"}); e == nil || string(e.Value) != "1" || e.ModifyIndex != outs[0].Index {
		t.Errorf("f/a = %+v", e)
	}
}
