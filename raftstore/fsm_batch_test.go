package raftstore

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/hashicorp/go-memdb"
	"github.com/hashicorp/raft"
	"github.com/minconsul/minconsul/structs"
)

// batchLogs encodes cmds (a nil entry stands for an undecodable log) as
// command logs from index first on.
func batchLogs(t *testing.T, first uint64, cmds []*structs.Command) []*raft.Log {
	t.Helper()
	logs := make([]*raft.Log, len(cmds))
	for i, c := range cmds {
		data := []byte("not msgpack")
		if c != nil {
			var err error
			if data, err = structs.Encode(c); err != nil {
				t.Fatal(err)
			}
		}
		logs[i] = &raft.Log{Type: raft.LogCommand, Index: first + uint64(i), Data: data}
	}
	return logs
}

// populatedIndex is the last index populate writes.
func populatedIndex(t *testing.T) uint64 {
	h := newHarness(t)
	populate(h)
	return h.idx
}

func resultString(v any) string {
	r, ok := v.(applyResult)
	if !ok {
		return fmt.Sprintf("raw %#v", v)
	}
	if r.Err != nil {
		return fmt.Sprintf("err %v (bad request %v)", r.Err, isBadRequest(r.Err))
	}
	return fmt.Sprintf("value %#v", r.Value)
}

// checkBatchEqualsSequential applies logs one by one on one FSM and as one
// batch on another (both first populated alike) and requires equal results
// per log and identical state.
func checkBatchEqualsSequential(t *testing.T, logs []*raft.Log, keys ...string) {
	t.Helper()
	seq, bat := newHarness(t), newHarness(t)
	keys = append(populate(seq), keys...)
	populate(bat)
	want := make([]any, len(logs))
	for i, l := range logs {
		want[i] = seq.fsm.Apply(l)
	}
	got := bat.fsm.ApplyBatch(logs)
	if len(got) != len(logs) {
		t.Fatalf("ApplyBatch returned %d results for %d logs", len(got), len(logs))
	}
	for i := range logs {
		if w, g := resultString(want[i]), resultString(got[i]); w != g {
			t.Errorf("log %d (index %d): batch %s, one by one %s", i, logs[i].Index, g, w)
		}
	}
	if w, g := dumpState(t, seq.state(), keys...), dumpState(t, bat.state(), keys...); w != g {
		t.Fatalf("state differs:\none by one:\n%s\nbatch:\n%s", w, g)
	}
}

func TestFSM_ApplyBatchMixed(t *testing.T) {
	first := populatedIndex(t) + 1 // app/a was last set at 11
	kv := func(typ structs.CommandType, key, value string, modifyIndex uint64) *structs.Command {
		c := kvCmd(typ, key, value, modifyIndex)
		return &c
	}
	cmds := []*structs.Command{
		kv(structs.KVSet, "batch/1", "one", 0),
		kv(structs.KVCAS, "app/a", "cas-ok", 11),    // matches: writes
		kv(structs.KVCAS, "app/a", "cas-stale", 11), // app/a is now at 22: fails, writes nothing
		kv(structs.KVCAS, "batch/1", "exists", 0),   // 0 = only if absent: fails
		kv(structs.KVDelete, "other", "", 0),
		{Type: structs.CatalogRegister, Register: regService("n4", "10.0.0.4", "api", "api", 9000)},
		kv(structs.KVSet, "batch/2", "two", 0),
		// Fails validation after it would have written the node: nothing of it may land.
		{Type: structs.CatalogRegister, Register: &structs.RegisterRequest{
			Node: "n5", Address: "10.0.0.5",
			Service: &structs.NodeService{ID: "ok", Service: "ok"},
			Checks:  structs.HealthChecks{check("c1", "ok", structs.HealthPassing), check("c2", "missing", structs.HealthPassing)},
		}},
		nil, // garbage
		{Type: structs.TxnApply, KV: &structs.DirEntry{Key: "k"}},
		{Type: structs.KVSet}, // no entry
		kv(structs.KVSet, "batch/1", "one again", 0),
		kv(structs.KVDeleteCAS, "batch/2", "", first+7), // batch/2's index (after the config log): deletes
		kv(structs.KVDeleteCAS, "app/c/d", "", 1),       // stale: fails
		{Type: structs.CatalogDeregister, Deregister: &structs.DeregisterRequest{Node: "n2", ServiceID: "web-2"}},
		kv(structs.KVDeleteTree, "app/", "", 0),
		kv(structs.KVSet, "app/new", "after tree delete", 0),
	}
	logs := batchLogs(t, first, cmds)
	// A configuration change in the middle: not a command, answered nil.
	logs = append(logs[:4], append([]*raft.Log{{Type: raft.LogConfiguration, Index: 0}}, logs[4:]...)...)
	for i, l := range logs {
		l.Index = first + uint64(i)
	}
	checkBatchEqualsSequential(t, logs, "batch/1", "batch/2", "app/new")
}

// A memdb error inside a run (an empty key has no primary index value)
// aborts the shared transaction; each log is then applied alone, so the
// others still land and the failing one writes nothing.
func TestFSM_ApplyBatchFallback(t *testing.T) {
	cmds := []*structs.Command{
		{Type: structs.KVSet, KV: &structs.DirEntry{Key: "x/1", Value: []byte("1")}},
		{Type: structs.KVSet, KV: &structs.DirEntry{Key: "", Value: []byte("empty key")}},
		{Type: structs.KVSet, KV: &structs.DirEntry{Key: "x/2", Value: []byte("2")}},
	}
	logs := batchLogs(t, populatedIndex(t)+1, cmds)
	h := newHarness(t)
	populate(h)
	res := h.fsm.ApplyBatch(logs)
	if r := res[1].(applyResult); r.Err == nil {
		t.Fatalf("empty key: %s, want an error", resultString(r))
	}
	for _, i := range []int{0, 2} {
		if r := res[i].(applyResult); r.Err != nil || r.Value != true {
			t.Fatalf("log %d: %s, want true", i, resultString(r))
		}
	}
	checkBatchEqualsSequential(t, logs, "x/1", "x/2", "")
}

// Random command streams cut into random batches must end in the same
// state, with the same results, as applying every log alone.
func TestFSM_ApplyBatchRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	keys := []string{"r/a", "r/b", "r/c/d", "r/c/e", "s"}
	for round := range 20 {
		seq, bat := newHarness(t), newHarness(t)
		idx := uint64(0)
		var logs []*raft.Log
		for range 200 {
			idx++
			k := keys[rng.IntN(len(keys))]
			var c structs.Command
			switch rng.IntN(8) {
			case 0, 1:
				c = kvCmd(structs.KVSet, k, fmt.Sprint(idx), 0)
			case 2:
				c = kvCmd(structs.KVCAS, k, fmt.Sprint(idx), uint64(rng.IntN(int(idx))))
			case 3:
				c = kvCmd(structs.KVDelete, k, "", 0)
			case 4:
				c = kvCmd(structs.KVDeleteCAS, k, "", uint64(rng.IntN(int(idx))))
			case 5:
				c = kvCmd(structs.KVDeleteTree, k[:1], "", 0)
			case 6:
				c = structs.Command{Type: structs.CatalogRegister, Register: regService("n1", "10.0.0.1", k, k, int(idx))}
			default:
				c = structs.Command{Type: structs.CatalogDeregister, Deregister: &structs.DeregisterRequest{Node: "n1", ServiceID: k}}
			}
			logs = append(logs, batchLogs(t, idx, []*structs.Command{&c})...)
		}
		for i := 0; i < len(logs); {
			n := 1 + rng.IntN(64)
			batch := logs[i:min(i+n, len(logs))]
			got := bat.fsm.ApplyBatch(batch)
			for j, l := range batch {
				if w, g := resultString(seq.fsm.Apply(l)), resultString(got[j]); w != g {
					t.Fatalf("round %d index %d: batch %s, one by one %s", round, l.Index, g, w)
				}
			}
			i += len(batch)
		}
		if w, g := dumpState(t, seq.state(), keys...), dumpState(t, bat.state(), keys...); w != g {
			t.Fatalf("round %d: state differs:\none by one:\n%s\nbatch:\n%s", round, w, g)
		}
	}
}

// Watchers wake once a batch commits and see its last write.
func TestFSM_ApplyBatchFiresWatches(t *testing.T) {
	h := newHarness(t)
	populate(h)
	ws := memdb.NewWatchSet()
	if _, _, err := h.state().KVGet(ws, &structs.KeyRequest{Key: "w"}); err != nil {
		t.Fatal(err)
	}
	c1 := kvCmd(structs.KVSet, "w", "1", 0)
	c2 := kvCmd(structs.KVSet, "w", "2", 0)
	first := h.idx + 1
	h.fsm.ApplyBatch(batchLogs(t, first, []*structs.Command{&c1, &c2}))
	if !fired(ws, mustFire) {
		t.Fatal("watch on w did not fire")
	}
	idx, e, err := h.state().KVGet(nil, &structs.KeyRequest{Key: "w"})
	if err != nil || e == nil || string(e.Value) != "2" || idx != first+1 || e.CreateIndex != first || e.ModifyIndex != first+1 {
		t.Fatalf("w = %+v at %d (%v), want value 2 created %d modified %d", e, idx, err, first, first+1)
	}
}

// BenchmarkFSM_KVSet compares applying 64 committed KV writes one by one
// with applying them as one batch (what Raft hands a BatchingFSM under 64
// concurrent writers).
func BenchmarkFSM_KVSet(b *testing.B) {
	const n = 64
	value := []byte("value-0123456789-0123456789-0123456789-0123456789-0123456789")
	mk := func(h *harness) []*raft.Log {
		logs := make([]*raft.Log, n)
		for i := range logs {
			h.idx++
			data, err := structs.Encode(&structs.Command{Type: structs.KVSet,
				KV: &structs.DirEntry{Key: fmt.Sprintf("bench/put/%d", i), Value: value}})
			if err != nil {
				b.Fatal(err)
			}
			logs[i] = &raft.Log{Type: raft.LogCommand, Index: h.idx, Data: data}
		}
		return logs
	}
	b.Run("one-by-one", func(b *testing.B) {
		h := newHarness(b)
		b.ReportAllocs()
		for b.Loop() {
			for _, l := range mk(h) {
				h.fsm.Apply(l)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/write")
	})
	b.Run("batch", func(b *testing.B) {
		h := newHarness(b)
		b.ReportAllocs()
		for b.Loop() {
			h.fsm.ApplyBatch(mk(h))
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/write")
	})
}

func BenchmarkCommand_EncodeDecode(b *testing.B) {
	cmd := structs.Command{Type: structs.KVSet, KV: &structs.DirEntry{Key: "bench/put/17",
		Value: []byte("value-0123456789-0123456789-0123456789-0123456789-0123456789")}}
	b.ReportAllocs()
	for b.Loop() {
		data, err := structs.Encode(&cmd)
		if err != nil {
			b.Fatal(err)
		}
		var out structs.Command
		if err := structs.Decode(data, &out); err != nil {
			b.Fatal(err)
		}
	}
}
