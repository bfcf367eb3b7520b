package raftstore

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/minconsul/minconsul/structs"
)

func sessionCmd(id, node string, behavior string, checks ...string) structs.Command {
	return structs.Command{Type: structs.SessionCreate, Session: &structs.Session{ID: id, Node: node,
		NodeChecks: checks, Behavior: behavior, LockDelay: 10 * time.Second}}
}

func lockCmd(t structs.CommandType, key, session string) structs.Command {
	return structs.Command{Type: t, KV: &structs.DirEntry{Key: key, Value: []byte("v"), Session: session}}
}

func TestSession_LockSemantics(t *testing.T) {
	h := newHarness(t)
	h.register(nodeCheckReq("n1", "10.0.0.1", structs.SerfCheckID, structs.HealthPassing))
	a, b := "aaaaaaaa-0000-4000-8000-000000000001", "bbbbbbbb-0000-4000-8000-000000000002"
	h.mustApply(sessionCmd(a, "n1", "", structs.SerfCheckID))
	h.mustApply(sessionCmd(b, "n1", structs.SessionKeysDelete))
	steps := []struct {
		cmd       structs.Command
		ok        bool
		session   string
		lockIndex uint64
	}{
		{lockCmd(structs.KVLock, "k", a), true, a, 1},
		{lockCmd(structs.KVLock, "k", a), true, a, 1}, // re-acquire keeps LockIndex
		{lockCmd(structs.KVLock, "k", b), false, a, 1},
		{lockCmd(structs.KVUnlock, "k", b), false, a, 1},
		{kvCmd(structs.KVSet, "k", "plain", 0), true, a, 1}, // a plain set keeps the holder
		{lockCmd(structs.KVUnlock, "k", a), true, "", 1},
		{lockCmd(structs.KVUnlock, "k", a), false, "", 1},
		{lockCmd(structs.KVLock, "k", b), true, b, 2},
	}
	for i, s := range steps {
		_, v, err := h.apply(s.cmd)
		if err != nil || v != s.ok {
			t.Fatalf("step %d: %v %v, want %v", i, v, err, s.ok)
		}
		_, e, _ := h.state().KVGet(nil, &structs.KeyRequest{Key: "k"})
		if e.Session != s.session || e.LockIndex != s.lockIndex {
			t.Fatalf("step %d: entry %+v", i, e)
		}
	}
	for _, tc := range []struct {
		cmd  structs.Command
		want string
	}{
		{lockCmd(structs.KVLock, "k", ""), "missing session"},
		{lockCmd(structs.KVLock, "k", "cccccccc-0000-4000-8000-000000000003"), `invalid session "cccccccc-0000-4000-8000-000000000003"`},
		{lockCmd(structs.KVLock, "k", "nope"), "UUID must be 36 characters"},
		{sessionCmd("dddddddd-0000-4000-8000-000000000004", "ghost", ""), "Missing node registration"},
		{sessionCmd("dddddddd-0000-4000-8000-000000000004", "n1", "", "nope"), "Missing check 'nope' registration"},
		{sessionCmd("dddddddd-0000-4000-8000-000000000004", "n1", "bogus"), "Invalid session behavior: bogus"},
		{sessionCmd(a, "n1", ""), "already exists"},
	} {
		before := dumpState(t, h.state(), "k")
		if _, _, err := h.apply(tc.cmd); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Fatalf("%s: err %v, want %q", tc.cmd.Type, err, tc.want)
		}
		if after := dumpState(t, h.state(), "k"); after != before {
			t.Fatalf("%s wrote on failure", tc.cmd.Type)
		}
	}
}

// serfHealth going critical ends the node's sessions; the held key is
// released (or deleted) under the lock delay.
func TestSession_InvalidationRules(t *testing.T) {
	for _, tc := range []struct {
		name    string
		trigger structs.Command
	}{
		{"serfHealth critical", structs.Command{Type: structs.CatalogRegister, Register: nodeCheckReq("n1", "10.0.0.1", structs.SerfCheckID, structs.HealthCritical)}},
		{"check deregistered", structs.Command{Type: structs.CatalogDeregister, Deregister: &structs.DeregisterRequest{Node: "n1", CheckID: structs.SerfCheckID}}},
		{"node deregistered", structs.Command{Type: structs.CatalogDeregister, Deregister: &structs.DeregisterRequest{Node: "n1"}}},
		{"service check critical", structs.Command{Type: structs.CatalogRegister, Register: &structs.RegisterRequest{Node: "n1", Address: "10.0.0.1", Check: check("web-http", "web", structs.HealthCritical)}}},
		{"service deregistered", structs.Command{Type: structs.CatalogDeregister, Deregister: &structs.DeregisterRequest{Node: "n1", ServiceID: "web"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			h.register(nodeCheckReq("n1", "10.0.0.1", structs.SerfCheckID, structs.HealthPassing))
			h.register(regService("n1", "10.0.0.1", "web", "web", 80))
			h.register(&structs.RegisterRequest{Node: "n1", Address: "10.0.0.1", Check: check("web-http", "web", structs.HealthPassing)})
			rel, del, free := "aaaaaaaa-0000-4000-8000-000000000001", "bbbbbbbb-0000-4000-8000-000000000002", "cccccccc-0000-4000-8000-000000000003"
			h.mustApply(sessionCmd(rel, "n1", "", structs.SerfCheckID))
			h.mustApply(structs.Command{Type: structs.SessionCreate, Session: &structs.Session{ID: del, Node: "n1",
				Behavior: structs.SessionKeysDelete, ServiceChecks: []structs.ServiceCheck{{ID: "web-http"}}}})
			h.mustApply(sessionCmd(free, "n1", "")) // no checks: only the node's removal ends it
			h.mustApply(lockCmd(structs.KVLock, "rel", rel))
			h.mustApply(lockCmd(structs.KVLock, "del", del))
			h.mustApply(tc.trigger)
			_, left, _ := h.state().SessionList(nil, nil)
			alive := map[string]bool{}
			for _, s := range left {
				alive[s.ID] = true
			}
			serf := !strings.Contains(tc.name, "serf") && tc.name != "check deregistered" && tc.name != "node deregistered"
			svc := strings.HasPrefix(tc.name, "serf") || tc.name == "check deregistered"
			if alive[rel] != serf || alive[del] != svc || alive[free] != (tc.name != "node deregistered") {
				t.Fatalf("alive = %v", alive)
			}
			_, e, _ := h.state().KVGet(nil, &structs.KeyRequest{Key: "rel"})
			if !alive[rel] {
				if e == nil || e.Session != "" || e.LockIndex != 1 {
					t.Fatalf("released entry = %+v", e)
				}
				if d := h.state().KVLockDelay("rel"); time.Until(d) < 5*time.Second {
					t.Fatalf("lock delay until %v", d)
				}
			}
			_, e, _ = h.state().KVGet(nil, &structs.KeyRequest{Key: "del"})
			if !alive[del] && e != nil {
				t.Fatalf("delete behavior kept %+v", e)
			}
		})
	}
}

func TestTxn_AllOrNothing(t *testing.T) {
	h := newHarness(t)
	keys := append(populate(h), "t/0")
	before := dumpState(t, h.state(), keys...)
	var ops structs.TxnOps
	for i := 0; i < 9; i++ {
		ops = append(ops, &structs.TxnOp{KV: &structs.TxnKVOp{Verb: "set", DirEnt: structs.DirEntry{Key: fmt.Sprintf("t/%d", i), Value: []byte("x")}}})
	}
	ops = append(ops, &structs.TxnOp{KV: &structs.TxnKVOp{Verb: "check-index", DirEnt: structs.DirEntry{Key: "app/a", ModifyIndex: 1}}},
		&structs.TxnOp{Node: &structs.TxnNodeOp{Verb: "frobnicate"}})
	_, v, err := h.apply(structs.Command{Type: structs.TxnApply, Txn: ops})
	if err != nil {
		t.Fatal(err)
	}
	res := v.(*structs.TxnResponse)
	if len(res.Results) != 0 || len(res.Errors) != 2 || res.Errors[0].OpIndex != 9 || res.Errors[1].OpIndex != 10 ||
		!strings.Contains(res.Errors[0].What, "current modify index") || res.Errors[1].What != `unknown Node verb "frobnicate"` {
		t.Fatalf("response = %+v %+v", res.Errors[0], res.Errors[1])
	}
	if after := dumpState(t, h.state(), keys...); after != before {
		t.Fatalf("failed transaction wrote:\n%s\n---\n%s", before, after)
	}
	ops = ops[:9]
	ops = append(ops, &structs.TxnOp{KV: &structs.TxnKVOp{Verb: "delete-tree", DirEnt: structs.DirEntry{Key: "app/"}}},
		&structs.TxnOp{KV: &structs.TxnKVOp{Verb: "get-tree", DirEnt: structs.DirEntry{Key: "t/"}}})
	idx, v, err := h.apply(structs.Command{Type: structs.TxnApply, Txn: ops})
	if err != nil || len(v.(*structs.TxnResponse).Errors) != 0 {
		t.Fatalf("txn: %v %+v", err, v)
	}
	res = v.(*structs.TxnResponse)
	if len(res.Results) != 18 || res.Results[0].KV.ModifyIndex != idx || res.Results[0].KV.Value != nil || string(res.Results[17].KV.Value) != "x" {
		t.Fatalf("results: %d, first %+v", len(res.Results), res.Results[0].KV)
	}
	if _, ents, _ := h.state().KVList(nil, &structs.KeyRequest{Key: "app/"}); len(ents) != 0 {
		t.Fatalf("delete-tree left %v", ents)
	}
}
