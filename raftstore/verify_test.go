package raftstore

import (
	"context"
	"testing"
	"time"

	"github.com/hashicorp/go-memdb"
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
