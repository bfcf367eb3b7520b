package raftstore

import (
	"bytes"
	"testing"

	"github.com/minconsul/minconsul/structs"
)

func encodeState(t testing.TB, parts ...any) []byte {
	var b bytes.Buffer
	enc := structs.NewEncoder(&b)
	for _, p := range parts {
		if err := enc.Encode(p); err != nil {
			t.Fatal(err)
		}
	}
	return b.Bytes()
}

func TestInspectState_CountsByType(t *testing.T) {
	state := encodeState(t, snapshotHeader{Version: 1},
		recordKV, &structs.DirEntry{Key: "a", Value: []byte("1")},
		recordKV, &structs.DirEntry{Key: "b", Value: []byte("22")},
		recordNode, &structs.Node{Node: "n1", Address: "10.0.0.1"},
		recordType(77), map[string]string{"x": "y"},
		recordType(recordEnd))
	stats, err := InspectState(state)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int{}
	for _, s := range stats {
		if s.Sum <= 0 {
			t.Errorf("%s: size %d", s.Name, s.Sum)
		}
		got[s.Name] = s.Count
	}
	if got["KVS"] != 2 || got["Register"] != 1 || got["Unknown(77)"] != 1 || len(got) != 3 {
		t.Fatalf("stats %+v", stats)
	}
	if _, err := InspectState(state[:len(state)-1]); err == nil {
		t.Fatal("a truncated state must be an error")
	}
}

// InspectState reads archives from disk: any input gives stats or an
// error, never a panic.
func FuzzInspectState(f *testing.F) {
	f.Add(encodeState(f, snapshotHeader{Version: 1}, recordType(recordEnd)))
	f.Add(encodeState(f, snapshotHeader{Version: 1}, recordKV, &structs.DirEntry{Key: "a"}, recordType(recordEnd)))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, state []byte) {
		_, _ = InspectState(state)
	})
}
