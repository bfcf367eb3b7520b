package raftstore

import (
	"fmt"
	"strings"
	"sync/atomic"

	"github.com/hashicorp/go-memdb"
)

// StateStore is the in-memory, indexed copy of the replicated state. Only
// the FSM writes to it (one Raft index per write transaction); reads may
// run concurrently. A snapshot restore replaces the whole StateStore and
// closes the old one's abandon channel so that blocked readers retry
// against the new one.
type StateStore struct {
	db        *memdb.MemDB
	abandonCh chan struct{}
	abandoned atomic.Bool
}

// NewStateStore returns an empty state store.
func NewStateStore() (*StateStore, error) {
	db, err := newDB()
	if err != nil {
		return nil, err
	}
	return &StateStore{db: db, abandonCh: make(chan struct{})}, nil
}

// AbandonCh is closed when this store has been replaced by a restore.
func (s *StateStore) AbandonCh() <-chan struct{} { return s.abandonCh }

func (s *StateStore) abandon() {
	if s.abandoned.CompareAndSwap(false, true) {
		close(s.abandonCh)
	}
}

// maxIndex returns the highest recorded index among the given keys
// ("kvs", "nodes", "service.web", ...).
func maxIndexTxn(tx *memdb.Txn, keys ...string) uint64 {
	var max uint64
	for _, k := range keys {
		raw, err := tx.First(tableIndex, "id", k)
		if err != nil || raw == nil {
			continue
		}
		if v := raw.(*indexEntry).Value; v > max {
			max = v
		}
	}
	return max
}

// maxIndexWatchTxn is maxIndexTxn that also watches each key's entry.
func maxIndexWatchTxn(tx *memdb.Txn, ws memdb.WatchSet, keys ...string) uint64 {
	var max uint64
	for _, k := range keys {
		ch, raw, err := tx.FirstWatch(tableIndex, "id", k)
		if err != nil {
			continue
		}
		ws.Add(ch)
		if raw == nil {
			continue
		}
		if v := raw.(*indexEntry).Value; v > max {
			max = v
		}
	}
	return max
}

func setIndexTxn(tx *memdb.Txn, key string, idx uint64) error {
	if err := tx.Insert(tableIndex, &indexEntry{Key: key, Value: idx}); err != nil {
		return fmt.Errorf("index %s: %w", key, err)
	}
	return nil
}

func serviceIndexKey(name string) string { return "service." + strings.ToLower(name) }

// LastIndex is the highest index the state store has seen in any table.
func (s *StateStore) LastIndex() uint64 {
	tx := s.db.Txn(false)
	defer tx.Abort()
	var max uint64
	it, err := tx.Get(tableIndex, "id")
	if err != nil {
		return 0
	}
	for raw := it.Next(); raw != nil; raw = it.Next() {
		if v := raw.(*indexEntry).Value; v > max {
			max = v
		}
	}
	return max
}
