package raftstore

import (
	"bytes"
	"testing"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
	"github.com/minconsul/minconsul/structs"
)

func TestFSM_GarbageIsAnError(t *testing.T) {
	inputs := map[string][]byte{
		"nil":            nil,
		"empty":          {},
		"one byte":       {0xc1}, // never used in msgpack
		"text":           []byte("hello, raft"),
		"array":          {0x93, 0x01, 0x02, 0x03},
		"truncated map":  {0x84, 0xa4, 'T', 'y', 'p', 'e'},
		"huge bin":       {0xc6, 0xff, 0xff, 0xff, 0xff},
		"huge array":     {0xdd, 0xff, 0xff, 0xff, 0xff},
		"huge map":       {0xdf, 0xff, 0xff, 0xff, 0xff},
		"string as type": {0x81, 0xa4, 'T', 'y', 'p', 'e', 0xa3, 'a', 'b', 'c'},
	}
	for name, data := range inputs {
		t.Run(name, func(t *testing.T) {
			h := newHarness(t)
			keys := populate(h)
			before := dumpState(t, h.state(), keys...)
			res, ok := h.applyRaw(data).(applyResult)
			if !ok || res.Err == nil {
				t.Fatalf("Apply(%x) = %#v, want an error result", data, res)
			}
			if after := dumpState(t, h.state(), keys...); after != before {
				t.Fatalf("garbage changed state:\n%s\n---\n%s", before, after)
			}
		})
	}
}

func TestFSM_BadCommands(t *testing.T) {
	cases := []struct {
		name string
		cmd  structs.Command
	}{
		{"type zero", structs.Command{}},
		{"TxnApply without ops", structs.Command{Type: structs.TxnApply, KV: &structs.DirEntry{Key: "k"}}},
		{"SessionCreate without session", structs.Command{Type: structs.SessionCreate}},
		{"SessionDestroy without session", structs.Command{Type: structs.SessionDestroy}},
		{"KVLock without entry", structs.Command{Type: structs.KVLock}},
		{"KVUnlock without entry", structs.Command{Type: structs.KVUnlock}},
		{"unknown type", structs.Command{Type: 200, KV: &structs.DirEntry{Key: "k"}}},
		{"KVSet without entry", structs.Command{Type: structs.KVSet}},
		{"KVDeleteTree without entry", structs.Command{Type: structs.KVDeleteTree}},
		{"register without request", structs.Command{Type: structs.CatalogRegister}},
		{"deregister without request", structs.Command{Type: structs.CatalogDeregister}},
		{"deregister without node", structs.Command{Type: structs.CatalogDeregister, Deregister: &structs.DeregisterRequest{ServiceID: "web"}}},
		{"register: check for a missing service", structs.Command{Type: structs.CatalogRegister, Register: &structs.RegisterRequest{
			Node: "new", Address: "10.0.0.9",
			Service: &structs.NodeService{ID: "ok", Service: "ok"},
			Checks:  structs.HealthChecks{check("c1", "ok", structs.HealthPassing), check("c2", "missing", structs.HealthPassing)},
		}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			keys := populate(h)
			before := dumpState(t, h.state(), keys...)
			_, v, err := h.apply(tc.cmd)
			if !isBadRequest(err) {
				t.Fatalf("err = %v, want BadRequest", err)
			}
			if v != nil {
				t.Fatalf("value = %v with an error", v)
			}
			if after := dumpState(t, h.state(), keys...); after != before {
				t.Fatalf("failed command wrote something:\n%s\n---\n%s", before, after)
			}
		})
	}
}

// A registration carrying a null entry in Checks (JSON "Checks":[null])
// must not panic the FSM: that would take down Raft on every server.
func TestFSM_NilCheckInRegistration(t *testing.T) {
	h := newHarness(t)
	req := &structs.RegisterRequest{Node: "n", Address: "10.0.0.1",
		Checks: structs.HealthChecks{nil, check("c", "", structs.HealthPassing)}}
	if _, _, err := h.apply(structs.Command{Type: structs.CatalogRegister, Register: req}); err != nil {
		t.Fatalf("register with a nil check: %v", err)
	}
	if _, hcs, _ := h.state().NodeChecks(nil, &structs.NodeSpecificRequest{Node: "n"}); len(hcs) != 1 {
		t.Fatalf("checks = %v", checkIDsOf(hcs))
	}
}

func TestFSM_NonCommandLogsAreIgnored(t *testing.T) {
	h := newHarness(t)
	keys := populate(h)
	before := dumpState(t, h.state(), keys...)
	for _, typ := range []raft.LogType{raft.LogNoop, raft.LogBarrier, raft.LogConfiguration} {
		h.idx++
		if res := h.fsm.Apply(&raft.Log{Type: typ, Index: h.idx, Data: []byte("x")}); res != nil {
			t.Fatalf("Apply(%v) = %v, want nil", typ, res)
		}
	}
	if after := dumpState(t, h.state(), keys...); after != before {
		t.Fatal("non-command log changed state")
	}
}

// FuzzFSMApply feeds arbitrary bytes as a Raft log entry's data. The FSM
// must never panic, and when it reports an error it must not have written.
func FuzzFSMApply(f *testing.F) {
	seeds := []structs.Command{
		kvCmd(structs.KVSet, "app/a", "v", 0),
		kvCmd(structs.KVCAS, "app/a", "v", 3),
		kvCmd(structs.KVDelete, "app/a", "", 0),
		kvCmd(structs.KVDeleteCAS, "x", "", 1),
		kvCmd(structs.KVDeleteTree, "app/", "", 0),
		{Type: structs.CatalogRegister, Register: webRegistration()},
		{Type: structs.CatalogRegister, Register: &structs.RegisterRequest{Node: "n1", Address: "a",
			Checks: structs.HealthChecks{check("c", "web-1", "passing")}}},
		{Type: structs.CatalogDeregister, Deregister: &structs.DeregisterRequest{Node: "n1", ServiceID: "db"}},
		{Type: structs.CatalogDeregister, Deregister: &structs.DeregisterRequest{Node: "n2"}},
		{Type: structs.KVLock, KV: &structs.DirEntry{Key: "locks/x", Session: testSession1}},
		{Type: structs.KVUnlock, KV: &structs.DirEntry{Key: "locks/x", Session: testSession1}},
		{Type: structs.SessionCreate, Session: &structs.Session{ID: testSession2, Node: "n1", NodeChecks: []string{"db-tcp"}}},
		{Type: structs.SessionDestroy, Session: &structs.Session{ID: testSession1}},
		{Type: structs.TxnApply, Txn: structs.TxnOps{
			{KV: &structs.TxnKVOp{Verb: "set", DirEnt: structs.DirEntry{Key: "t"}}},
			{Node: &structs.TxnNodeOp{Verb: "delete", Node: structs.Node{Node: "n2"}}},
			{Check: &structs.TxnCheckOp{Verb: "cas", Check: structs.HealthCheck{Node: "n1", CheckID: "serfHealth", Status: "critical", ModifyIndex: 12}}},
		}},
	}
	batch := structs.Command{Type: structs.KVBatch}
	for _, c := range seeds {
		b, err := structs.Encode(&c)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
		batch.Batch = append(batch.Batch, b)
	}
	b, err := structs.Encode(&batch)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Add([]byte{})
	f.Add([]byte{0x81, 0xa4, 'T', 'y', 'p', 'e', 0x06})

	// Every input starts from the same populated state, restored from a
	// snapshot (cheaper than replaying it).
	base := newHarness(f)
	keys := populate(base)
	var start bytes.Buffer
	if err := base.state().WriteSnapshot(&start); err != nil {
		f.Fatal(err)
	}

	f.Fuzz(func(t *testing.T, data []byte) {
		fsm, err := NewFSM(hclog.NewNullLogger())
		if err != nil {
			t.Fatal(err)
		}
		if err := fsm.Restore(nopCloser(start.Bytes())); err != nil {
			t.Fatal(err)
		}
		// failed: nothing may have been written (for a KVBatch: every
		// element failed).
		var failed bool
		switch res := fsm.Apply(&raft.Log{Type: raft.LogCommand, Index: base.idx + 1, Data: data}).(type) {
		case applyResult:
			failed = res.Err != nil
		case BatchResult:
			failed = true
			for i, e := range res {
				r, ok := e.(applyResult)
				if !ok {
					t.Fatalf("batch element %d: result %T", i, e)
				}
				failed = failed && r.Err != nil
			}
		default:
			t.Fatalf("result %T", res)
		}
		// The state must still serialise; after an error, byte for byte as before.
		var after bytes.Buffer
		if err := fsm.State().WriteSnapshot(&after); err != nil {
			t.Fatalf("snapshot after apply: %v", err)
		}
		if failed && !bytes.Equal(after.Bytes(), start.Bytes()) {
			t.Fatal("the command failed but the state changed")
		}
		// And every read must still work on whatever was written.
		dumpState(t, fsm.State(), keys...)
	})
}
