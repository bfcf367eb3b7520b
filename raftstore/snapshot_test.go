package raftstore

import (
	"bytes"
	"io"
	"testing"

	"github.com/hashicorp/raft"
	"github.com/minconsul/minconsul/structs"
)

// persist runs FSM.Snapshot + Persist into an in-memory raft snapshot
// store and returns the stream, as Raft would hand it to Restore.
func persist(t *testing.T, snap raft.FSMSnapshot) []byte {
	t.Helper()
	store := raft.NewInmemSnapshotStore()
	sink, err := store.Create(1, 10, 1, raft.Configuration{}, 1, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := snap.Persist(sink); err != nil {
		t.Fatalf("persist: %v", err)
	}
	snap.Release()
	_, rc, err := store.Open(sink.ID())
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestSnapshot_RestoreIsIdentical(t *testing.T) {
	h := newHarness(t)
	keys := populate(h)
	want := dumpState(t, h.state(), keys...)

	snap, err := h.fsm.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	// Raft persists outside the apply loop: later writes must not leak in.
	h.kvSet("after/snapshot", "x")
	h.register(regService("late", "10.9.9.9", "late", "late", 1))
	data := persist(t, snap)

	h2 := newHarness(t)
	if err := h2.fsm.Restore(io.NopCloser(bytes.NewReader(data))); err != nil {
		t.Fatalf("restore: %v", err)
	}
	if got := dumpState(t, h2.state(), keys...); got != want {
		t.Fatalf("restored state differs:\n%s\n--- want\n%s", got, want)
	}

	// Both FSMs continue identically from the same log.
	h2.idx = h.idx - 2
	h2.kvSet("after/snapshot", "x")
	h2.register(regService("late", "10.9.9.9", "late", "late", 1))
	for _, hh := range []*harness{h, h2} {
		hh.idx++
		hh.mustApply(kvCmd(structs.KVCAS, "app/a", "v3", 0)) // fails: exists
		hh.kvSet("gone/1", "back")                           // clears a tombstone
		hh.register(&structs.RegisterRequest{Node: "n1", Address: "10.0.0.1", Check: check("db-tcp", "db", structs.HealthPassing)})
	}
	keys = append(keys, "after/snapshot")
	if a, b := dumpState(t, h.state(), keys...), dumpState(t, h2.state(), keys...); a != b {
		t.Fatalf("original and restored FSM diverged:\n%s\n---\n%s", a, b)
	}
}

func TestSnapshot_RestoreAbandonsOldState(t *testing.T) {
	h := newHarness(t)
	populate(h)
	data := persist(t, mustSnapshot(t, h.fsm))

	h2 := newHarness(t)
	h2.kvSet("old", "state")
	old := h2.state()
	if err := h2.fsm.Restore(io.NopCloser(bytes.NewReader(data))); err != nil {
		t.Fatal(err)
	}
	select {
	case <-old.AbandonCh():
	default:
		t.Fatal("restore did not close the old state store's AbandonCh")
	}
	if h2.state() == old {
		t.Fatal("restore did not swap the state store")
	}
	select {
	case <-h2.state().AbandonCh():
		t.Fatal("new state store is already abandoned")
	default:
	}
	if _, e, _ := h2.state().KVGet(nil, &structs.KeyRequest{Key: "old"}); e != nil {
		t.Fatal("restore merged into the old state instead of replacing it")
	}
}

func nopCloser(b []byte) io.ReadCloser { return io.NopCloser(bytes.NewReader(b)) }

func mustSnapshot(t *testing.T, f *FSM) raft.FSMSnapshot {
	t.Helper()
	snap, err := f.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	return snap
}

func TestSnapshot_TruncatedOrCorrupt(t *testing.T) {
	h := newHarness(t)
	populate(h)
	data := persist(t, mustSnapshot(t, h.fsm))

	cuts := map[string][]byte{
		"empty":       {},
		"one byte":    data[:1],
		"header only": data[:8],
		"half":        data[:len(data)/2],
		"missing end": data[:len(data)-1],
		"bad version": func() []byte {
			hdr, _ := structs.Encode(snapshotHeader{Version: 1})
			bad, _ := structs.Encode(snapshotHeader{Version: 9})
			if !bytes.HasPrefix(data, hdr) {
				t.Fatal("snapshot does not start with its header")
			}
			return append(bad, data[len(hdr):]...)
		}(),
		"unknown record": func() []byte {
			var buf bytes.Buffer
			enc := structs.NewEncoder(&buf)
			enc.Encode(snapshotHeader{Version: 1})
			enc.Encode(recordType(77))
			return buf.Bytes()
		}(),
	}
	for name, b := range cuts {
		t.Run(name, func(t *testing.T) {
			h2 := newHarness(t)
			h2.kvSet("keep", "me")
			before := h2.state()
			if err := h2.fsm.Restore(io.NopCloser(bytes.NewReader(b))); err == nil {
				t.Fatalf("restore of %d/%d bytes succeeded", len(b), len(data))
			}
			if h2.state() != before {
				t.Fatal("failed restore replaced the state store")
			}
			select {
			case <-before.AbandonCh():
				t.Fatal("failed restore abandoned the live state store")
			default:
			}
			if _, e, _ := h2.state().KVGet(nil, &structs.KeyRequest{Key: "keep"}); e == nil {
				t.Fatal("failed restore lost data")
			}
		})
	}
}

func TestSnapshot_EmptyState(t *testing.T) {
	h := newHarness(t)
	want := dumpState(t, h.state())
	data := persist(t, mustSnapshot(t, h.fsm))
	h2 := newHarness(t)
	if err := h2.fsm.Restore(io.NopCloser(bytes.NewReader(data))); err != nil {
		t.Fatal(err)
	}
	if got := dumpState(t, h2.state()); got != want {
		t.Fatalf("empty restore:\n%s\n---\n%s", got, want)
	}
}
