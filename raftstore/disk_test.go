package raftstore

import (
	"context"
	"fmt"
	"testing"

	"github.com/minconsul/minconsul/structs"
)

func diskConfig(dir string) Config {
	return Config{NodeID: "disk-node", NodeName: "node1", DataDir: dir, Bootstrap: true, BindAddr: "127.0.0.1:0"}
}

func newDiskStore(t *testing.T, dir string) *Store {
	t.Helper()
	st, err := New(diskConfig(dir), testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	startStore(t, st)
	return st
}

// A server restarted on its data dir comes back with exactly the state it
// had: from the last snapshot plus the log after it, or from the log alone.
func TestStore_DiskRestart(t *testing.T) {
	const n, m = 40, 25
	for _, withSnapshot := range []bool{true, false} {
		t.Run(fmt.Sprintf("snapshot=%v", withSnapshot), func(t *testing.T) {
			dir := t.TempDir()
			st := newDiskStore(t, dir)
			ctx := context.Background()
			var keys []string
			for i := range n {
				k := fmt.Sprintf("before/%03d", i)
				keys = append(keys, k)
				storeSet(t, st, k, "v"+k)
			}
			apply := func(cmd structs.Command) {
				t.Helper()
				if _, _, err := st.Apply(ctx, cmd); err != nil {
					t.Fatal(err)
				}
			}
			apply(structs.Command{Type: structs.CatalogRegister, Register: webRegistration()})
			apply(kvCmd(structs.KVDelete, "before/000", "", 0))
			if withSnapshot {
				if err := st.Snapshot(); err != nil {
					t.Fatalf("snapshot: %v", err)
				}
			}
			for i := range m {
				k := fmt.Sprintf("after/%03d", i)
				keys = append(keys, k)
				storeSet(t, st, k, "v"+k)
			}
			apply(kvCmd(structs.KVDeleteTree, "before/01", "", 0))
			apply(structs.Command{Type: structs.CatalogRegister, Register: regService("node2", "10.0.0.2", "db", "db", 5432)})
			apply(structs.Command{Type: structs.CatalogDeregister, Deregister: &structs.DeregisterRequest{Node: "node1", CheckID: "web-http"}})
			storeSet(t, st, "before/001", "rewritten")

			want := dumpState(t, st.State(), keys...)
			lastIdx := st.State().LastIndex()
			if err := st.Shutdown(); err != nil {
				t.Fatalf("shutdown: %v", err)
			}

			st2 := newDiskStore(t, dir)
			if snap := st2.Stats()["last_snapshot_index"]; (snap != "0") != withSnapshot {
				t.Fatalf("last_snapshot_index after restart = %s", snap)
			}
			if got := dumpState(t, st2.State(), keys...); got != want {
				t.Fatalf("state after restart differs:\n%s\n--- want\n%s", got, want)
			}
			_, ents, _ := st2.State().KVList(nil, &structs.KeyRequest{Key: ""})
			// n+m keys, minus before/000 and the ten before/01x, plus nothing new.
			if len(ents) != n+m-11 {
				t.Fatalf("%d keys after restart, want %d", len(ents), n+m-11)
			}
			// Writes continue after the restored index.
			if idx := storeSet(t, st2, "post/restart", "x"); idx <= lastIdx {
				t.Fatalf("write after restart at index %d, not after %d", idx, lastIdx)
			}
		})
	}
}
