package raftstore

import (
	"bytes"
	"slices"
	"testing"
	"time"

	"github.com/hashicorp/go-memdb"
	"github.com/minconsul/minconsul/structs"
)

func mustGet(t *testing.T, s *StateStore, key string) (uint64, *structs.DirEntry) {
	t.Helper()
	idx, e, err := s.KVGet(nil, &structs.KeyRequest{Key: key})
	if err != nil {
		t.Fatalf("KVGet %q: %v", key, err)
	}
	return idx, e
}

func TestKV_SetKeepsCreateIndex(t *testing.T) {
	h := newHarness(t)
	i1, v := h.mustApply(structs.Command{Type: structs.KVSet, KV: &structs.DirEntry{Key: "foo", Flags: 7, Value: []byte("one")}})
	if v != true {
		t.Fatalf("KVSet result = %v, want true", v)
	}
	idx, e := mustGet(t, h.state(), "foo")
	if e == nil || string(e.Value) != "one" || e.Flags != 7 || e.CreateIndex != i1 || e.ModifyIndex != i1 || idx != i1 {
		t.Fatalf("after first set: idx=%d entry=%+v, want Create=Modify=%d", idx, e, i1)
	}

	h.kvSet("unrelated", "x")
	i2 := h.kvSet("foo", "two")
	idx, e = mustGet(t, h.state(), "foo")
	if string(e.Value) != "two" || e.CreateIndex != i1 || e.ModifyIndex != i2 || idx != i2 {
		t.Fatalf("after update: idx=%d entry=%+v, want Create=%d Modify=%d", idx, e, i1, i2)
	}
	if e.Flags != 0 {
		t.Fatalf("flags = %d: a set replaces flags", e.Flags)
	}
	if e.LockIndex != 0 || e.Session != "" {
		t.Fatalf("lock fields changed: %+v", e)
	}

	// A missing key answers the table index, never 0 once anything was written.
	idx, e = mustGet(t, h.state(), "missing")
	if e != nil || idx != i2 {
		t.Fatalf("missing key: idx=%d entry=%+v, want nil at %d", idx, e, i2)
	}
}

func TestKV_CAS(t *testing.T) {
	cases := []struct {
		name    string
		exists  bool
		cas     func(cur uint64) uint64 // index sent, from the key's current ModifyIndex
		wantOK  bool
		wantVal string
	}{
		{"zero on absent creates", false, func(uint64) uint64 { return 0 }, true, "new"},
		{"zero on present fails", true, func(uint64) uint64 { return 0 }, false, "old"},
		{"current index succeeds", true, func(cur uint64) uint64 { return cur }, true, "new"},
		{"stale index fails", true, func(cur uint64) uint64 { return cur - 1 }, false, "old"},
		{"future index fails", true, func(cur uint64) uint64 { return cur + 100 }, false, "old"},
		{"index on absent fails", false, func(uint64) uint64 { return 5 }, false, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			h.kvSet("pad", "x") // so that indexes are not all 1
			var cur uint64
			if tc.exists {
				cur = h.kvSet("k", "old")
			}
			idx, v := h.mustApply(kvCmd(structs.KVCAS, "k", "new", tc.cas(cur)))
			if v != tc.wantOK {
				t.Fatalf("CAS result = %v, want %v", v, tc.wantOK)
			}
			_, e := mustGet(t, h.state(), "k")
			switch {
			case tc.wantVal == "":
				if e != nil {
					t.Fatalf("entry = %+v, want none", e)
				}
			case e == nil || string(e.Value) != tc.wantVal:
				t.Fatalf("entry = %+v, want value %q", e, tc.wantVal)
			case tc.wantOK && e.ModifyIndex != idx:
				t.Fatalf("ModifyIndex = %d, want %d", e.ModifyIndex, idx)
			case !tc.wantOK && e.ModifyIndex != cur:
				t.Fatalf("failed CAS moved ModifyIndex %d -> %d", cur, e.ModifyIndex)
			case tc.exists && e.CreateIndex != cur:
				t.Fatalf("CreateIndex = %d, want %d", e.CreateIndex, cur)
			}
		})
	}
}

func TestKV_Delete(t *testing.T) {
	h := newHarness(t)
	h.kvSet("a", "1")
	h.kvSet("b", "2")
	del, v := h.mustApply(kvCmd(structs.KVDelete, "a", "", 0))
	if v != true {
		t.Fatalf("delete result = %v", v)
	}
	idx, e := mustGet(t, h.state(), "a")
	if e != nil || idx != del {
		t.Fatalf("deleted key: idx=%d entry=%+v, want nil at its tombstone %d", idx, e, del)
	}
	if _, e := mustGet(t, h.state(), "b"); e == nil {
		t.Fatal("delete removed a sibling")
	}
	// Deleting a missing key succeeds and changes nothing.
	before := dumpState(t, h.state(), "a", "nope")
	if _, v := h.mustApply(kvCmd(structs.KVDelete, "nope", "", 0)); v != true {
		t.Fatalf("delete missing = %v, want true", v)
	}
	if after := dumpState(t, h.state(), "a", "nope"); after != before {
		t.Fatalf("delete of a missing key changed state:\n%s\n---\n%s", before, after)
	}
}

func TestKV_DeleteCAS(t *testing.T) {
	cases := []struct {
		name     string
		exists   bool
		cas      func(cur uint64) uint64
		wantOK   bool
		wantGone bool
	}{
		{"missing key is success", false, func(uint64) uint64 { return 7 }, true, true},
		{"matching index deletes", true, func(cur uint64) uint64 { return cur }, true, true},
		{"stale index keeps", true, func(cur uint64) uint64 { return cur - 1 }, false, false},
		{"zero index keeps", true, func(uint64) uint64 { return 0 }, false, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			h.kvSet("pad", "x")
			var cur uint64
			if tc.exists {
				cur = h.kvSet("k", "v")
			}
			_, v := h.mustApply(kvCmd(structs.KVDeleteCAS, "k", "", tc.cas(cur)))
			if v != tc.wantOK {
				t.Fatalf("delete-cas result = %v, want %v", v, tc.wantOK)
			}
			_, e := mustGet(t, h.state(), "k")
			if (e == nil) != tc.wantGone {
				t.Fatalf("entry = %+v, want gone=%v", e, tc.wantGone)
			}
		})
	}
}

func TestKV_DeleteTree(t *testing.T) {
	h := newHarness(t)
	for _, k := range []string{"foo/a", "foo/b/c", "foo", "foob", "bar"} {
		h.kvSet(k, "v")
	}
	del, _ := h.mustApply(kvCmd(structs.KVDeleteTree, "foo/", "", 0))
	_, ents, err := h.state().KVList(nil, &structs.KeyRequest{Key: ""})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := entryKeys(ents), []string{"bar", "foo", "foob"}; !slices.Equal(got, want) {
		t.Fatalf("after delete-tree foo/: %v, want %v", got, want)
	}
	idx, ents, _ := h.state().KVList(nil, &structs.KeyRequest{Key: "foo/"})
	if len(ents) != 0 || idx != del {
		t.Fatalf("list foo/ after delete-tree: idx=%d %v, want empty at %d", idx, entryKeys(ents), del)
	}
}

func entryKeys(ents structs.DirEntries) []string {
	out := []string{}
	for _, e := range ents {
		out = append(out, e.Key)
	}
	return out
}

func TestKV_ListOrderAndIndex(t *testing.T) {
	h := newHarness(t)
	// Indexes returned for this prefix must never go back, whatever happens.
	var last uint64
	list := func(prefix string) (uint64, []string) {
		t.Helper()
		idx, ents, err := h.state().KVList(nil, &structs.KeyRequest{Key: prefix})
		if err != nil {
			t.Fatal(err)
		}
		if prefix == "foo/" {
			if idx < last {
				t.Fatalf("KVList index went back: %d -> %d", last, idx)
			}
			last = idx
		}
		return idx, entryKeys(ents)
	}

	h.kvSet("zzz", "x")
	if idx, keys := list("foo/"); len(keys) != 0 || idx != 1 {
		t.Fatalf("empty prefix: idx=%d keys=%v, want table index 1", idx, keys)
	}
	h.kvSet("foo/c", "x")
	iB := h.kvSet("foo/b", "x")
	h.kvSet("foo/a/1", "x")
	iA := h.kvSet("foo/a", "x")
	idx, keys := list("foo/")
	if want := []string{"foo/a", "foo/a/1", "foo/b", "foo/c"}; !slices.Equal(keys, want) {
		t.Fatalf("order: %v, want %v", keys, want)
	}
	if idx != iA {
		t.Fatalf("index = %d, want highest ModifyIndex under prefix %d", idx, iA)
	}

	// Writes elsewhere do not move the prefix's index.
	h.kvSet("bar", "x")
	if idx, _ := list("foo/"); idx != iA {
		t.Fatalf("write outside prefix moved index to %d", idx)
	}
	// Deleting the newest entry: the tombstone keeps the index from going back.
	d1, _ := h.mustApply(kvCmd(structs.KVDelete, "foo/a", "", 0))
	if idx, keys := list("foo/"); idx != d1 || slices.Contains(keys, "foo/a") {
		t.Fatalf("after delete: idx=%d keys=%v, want %d without foo/a", idx, keys, d1)
	}
	// Deleting everything under the prefix still answers the last delete.
	d2, _ := h.mustApply(kvCmd(structs.KVDeleteTree, "foo/", "", 0))
	if idx, keys := list("foo/"); idx != d2 || len(keys) != 0 {
		t.Fatalf("after delete-tree: idx=%d keys=%v, want empty at %d", idx, keys, d2)
	}
	// Re-creating a key under the prefix moves forward again.
	i3 := h.kvSet("foo/b", "again")
	if idx, _ := list("foo/"); idx != i3 {
		t.Fatalf("after re-create: idx=%d, want %d", idx, i3)
	}
	_, e := mustGet(t, h.state(), "foo/b")
	if e.CreateIndex != i3 || e.CreateIndex == iB {
		t.Fatalf("re-created key CreateIndex = %d, want %d", e.CreateIndex, i3)
	}
}

func TestKV_Keys(t *testing.T) {
	h := newHarness(t)
	for _, k := range []string{"foo/bar/baz", "foo/bar/qux", "foo/zip", "foo/zap/", "foob", "other", "a//b", "a//c", "a/d"} {
		h.kvSet(k, "v")
	}
	cases := []struct {
		prefix, sep string
		want        []string
	}{
		{"foo/", "/", []string{"foo/bar/", "foo/zap/", "foo/zip"}},
		{"foo/", "", []string{"foo/bar/baz", "foo/bar/qux", "foo/zap/", "foo/zip"}},
		{"", "/", []string{"a/", "foo/", "foob", "other"}},
		{"foo", "/", []string{"foo/", "foob"}},
		{"foo/bar/", "/", []string{"foo/bar/baz", "foo/bar/qux"}},
		{"foo/bar", "/", []string{"foo/bar/"}},
		{"a", "//", []string{"a//", "a/d"}},
		{"nope", "/", []string{}},
	}
	for _, tc := range cases {
		t.Run(tc.prefix+"|"+tc.sep, func(t *testing.T) {
			idx, keys, err := h.state().KVKeys(nil, &structs.KeyListRequest{Prefix: tc.prefix, Separator: tc.sep})
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(keys, tc.want) {
				t.Fatalf("KVKeys(%q, %q) = %q, want %q", tc.prefix, tc.sep, keys, tc.want)
			}
			if keys == nil {
				t.Fatal("KVKeys returned nil; want an empty list (JSON [])")
			}
			lidx, _, _ := h.state().KVList(nil, &structs.KeyRequest{Key: tc.prefix})
			if idx != lidx || idx == 0 {
				t.Fatalf("KVKeys index %d, KVList index %d", idx, lidx)
			}
		})
	}
}

func TestKV_ValueRoundTrip(t *testing.T) {
	h := newHarness(t)
	val := bytes.Repeat([]byte{0, 0xff, 'a'}, 1000)
	h.mustApply(structs.Command{Type: structs.KVSet, KV: &structs.DirEntry{Key: "bin", Value: val, Flags: 1 << 63}})
	_, e := mustGet(t, h.state(), "bin")
	if !bytes.Equal(e.Value, val) || e.Flags != 1<<63 {
		t.Fatalf("binary value or flags not preserved: flags=%d len=%d", e.Flags, len(e.Value))
	}
}

func TestKV_Watch(t *testing.T) {
	type step struct {
		name  string
		cmd   structs.Command
		fires bool
	}
	setup := func(t *testing.T) *harness {
		h := newHarness(t)
		for _, k := range []string{"foo/a", "foo/b", "bar/a", "key"} {
			h.kvSet(k, "v")
		}
		return h
	}
	t.Run("get", func(t *testing.T) {
		for _, st := range []step{
			{"set same key", kvCmd(structs.KVSet, "key", "new", 0), true},
			{"delete same key", kvCmd(structs.KVDelete, "key", "", 0), true},
			{"failed cas on key", kvCmd(structs.KVCAS, "key", "new", 999), false},
			{"set other key", kvCmd(structs.KVSet, "foo/a", "new", 0), false},
			{"create other key", kvCmd(structs.KVSet, "kez", "new", 0), false},
		} {
			t.Run(st.name, func(t *testing.T) {
				h := setup(t)
				ws := memdb.NewWatchSet()
				if _, _, err := h.state().KVGet(ws, &structs.KeyRequest{Key: "key"}); err != nil {
					t.Fatal(err)
				}
				h.mustApply(st.cmd)
				if got := fired(ws, deadlineFor(st.fires)); got != st.fires {
					t.Fatalf("watch fired = %v, want %v", got, st.fires)
				}
			})
		}
	})
	t.Run("list", func(t *testing.T) {
		for _, st := range []step{
			{"set under prefix", kvCmd(structs.KVSet, "foo/a", "new", 0), true},
			{"create under prefix", kvCmd(structs.KVSet, "foo/c/d", "new", 0), true},
			{"delete under prefix", kvCmd(structs.KVDelete, "foo/b", "", 0), true},
			{"delete-tree prefix", kvCmd(structs.KVDeleteTree, "foo/", "", 0), true},
			{"set other prefix", kvCmd(structs.KVSet, "bar/a", "new", 0), false},
			{"create other prefix", kvCmd(structs.KVSet, "baz/x", "new", 0), false},
			{"delete other prefix", kvCmd(structs.KVDelete, "bar/a", "", 0), false},
		} {
			t.Run(st.name, func(t *testing.T) {
				h := setup(t)
				ws := memdb.NewWatchSet()
				if _, _, err := h.state().KVList(ws, &structs.KeyRequest{Key: "foo/"}); err != nil {
					t.Fatal(err)
				}
				h.mustApply(st.cmd)
				if got := fired(ws, deadlineFor(st.fires)); got != st.fires {
					t.Fatalf("watch fired = %v, want %v", got, st.fires)
				}
			})
		}
	})
}

func deadlineFor(shouldFire bool) time.Duration {
	if shouldFire {
		return mustFire
	}
	return mustNotFire
}
