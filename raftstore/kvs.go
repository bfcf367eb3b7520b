package raftstore

import (
	"fmt"
	"strings"

	"github.com/hashicorp/go-memdb"
	"github.com/minconsul/minconsul/structs"
)

// KVGet returns the entry at req.Key (nil when missing) and the index to
// block on.
func (s *StateStore) KVGet(ws memdb.WatchSet, req *structs.KeyRequest) (uint64, *structs.DirEntry, error) {
	key := req.Key
	tx := s.db.Txn(false)
	defer tx.Abort()
	ch, raw, err := tx.FirstWatch(tableKVs, "id", key)
	if err != nil {
		return 0, nil, fmt.Errorf("kv get %q: %w", key, err)
	}
	ws.Add(ch)
	if raw != nil {
		e := raw.(*structs.DirEntry)
		return e.ModifyIndex, e, nil
	}
	// Missing: the key's own tombstone (if it was deleted) or the table.
	if t, _ := tx.First(tableTombstones, "id", key); t != nil {
		return t.(*tombstone).Index, nil, nil
	}
	return maxIndexTxn(tx, tableKVs, tableTombstones), nil, nil
}

// KVList returns every entry under the prefix req.Key, in key order.
func (s *StateStore) KVList(ws memdb.WatchSet, req *structs.KeyRequest) (uint64, structs.DirEntries, error) {
	prefix := req.Key
	tx := s.db.Txn(false)
	defer tx.Abort()
	idx, ents, err := kvListTxn(tx, ws, prefix)
	if err != nil {
		return 0, nil, fmt.Errorf("kv list %q: %w", prefix, err)
	}
	return idx, ents, nil
}

func kvListTxn(tx *memdb.Txn, ws memdb.WatchSet, prefix string) (uint64, structs.DirEntries, error) {
	it, err := tx.Get(tableKVs, "id_prefix", prefix)
	if err != nil {
		return 0, nil, err
	}
	ws.Add(it.WatchCh())
	var ents structs.DirEntries
	var idx uint64
	for raw := it.Next(); raw != nil; raw = it.Next() {
		e := raw.(*structs.DirEntry)
		ents = append(ents, e)
		if e.ModifyIndex > idx {
			idx = e.ModifyIndex
		}
	}
	if t := tombstoneMaxTxn(tx, prefix); t > idx {
		idx = t
	}
	if idx == 0 {
		idx = maxIndexTxn(tx, tableKVs, tableTombstones)
	}
	return idx, ents, nil
}

func tombstoneMaxTxn(tx *memdb.Txn, prefix string) uint64 {
	it, err := tx.Get(tableTombstones, "id_prefix", prefix)
	if err != nil {
		return 0
	}
	var idx uint64
	for raw := it.Next(); raw != nil; raw = it.Next() {
		if t := raw.(*tombstone); t.Index > idx {
			idx = t.Index
		}
	}
	return idx
}

// KVKeys lists keys under req.Prefix; with a separator, keys below the
// next separator after the prefix are rolled up into one "dir/" entry, as
// Consul.
func (s *StateStore) KVKeys(ws memdb.WatchSet, req *structs.KeyListRequest) (uint64, []string, error) {
	prefix, sep := req.Prefix, req.Separator
	tx := s.db.Txn(false)
	defer tx.Abort()
	idx, ents, err := kvListTxn(tx, ws, prefix)
	if err != nil {
		return 0, nil, fmt.Errorf("kv keys %q: %w", prefix, err)
	}
	keys := make([]string, 0, len(ents))
	var last string
	for _, e := range ents {
		k := e.Key
		if sep != "" {
			if i := strings.Index(k[len(prefix):], sep); i >= 0 {
				k = k[:len(prefix)+i+len(sep)]
				if k == last {
					continue
				}
			}
		}
		keys = append(keys, k)
		last = k
	}
	return idx, keys, nil
}

// kvSetTxn writes an entry, keeping its CreateIndex and LockIndex.
func kvSetTxn(tx *memdb.Txn, idx uint64, in *structs.DirEntry) error {
	e := &structs.DirEntry{Key: in.Key, Flags: in.Flags, Value: in.Value, CreateIndex: idx, ModifyIndex: idx}
	raw, err := tx.First(tableKVs, "id", in.Key)
	if err != nil {
		return err
	}
	if raw != nil {
		old := raw.(*structs.DirEntry)
		e.CreateIndex = old.CreateIndex
		e.LockIndex = old.LockIndex
		e.Session = old.Session
	}
	return kvPutTxn(tx, idx, e)
}

// kvPutTxn stores a complete entry at idx.
func kvPutTxn(tx *memdb.Txn, idx uint64, e *structs.DirEntry) error {
	if err := tx.Insert(tableKVs, e); err != nil {
		return err
	}
	// A live key no longer needs its tombstone. (First, not DeleteAll: no
	// iterator to build on this hot path, where there is rarely one.)
	if t, err := tx.First(tableTombstones, "id", e.Key); err != nil {
		return err
	} else if t != nil {
		if err := tx.Delete(tableTombstones, t); err != nil {
			return err
		}
	}
	return setIndexTxn(tx, tableKVs, idx)
}

// kvCASTxn sets only if the entry's ModifyIndex matches (0: only if absent).
func kvCASTxn(tx *memdb.Txn, idx uint64, in *structs.DirEntry) (bool, error) {
	raw, err := tx.First(tableKVs, "id", in.Key)
	if err != nil {
		return false, err
	}
	if in.ModifyIndex == 0 && raw != nil {
		return false, nil
	}
	if in.ModifyIndex != 0 && (raw == nil || raw.(*structs.DirEntry).ModifyIndex != in.ModifyIndex) {
		return false, nil
	}
	return true, kvSetTxn(tx, idx, in)
}

func kvDeleteTxn(tx *memdb.Txn, idx uint64, key string) error {
	raw, err := tx.First(tableKVs, "id", key)
	if err != nil || raw == nil {
		return err
	}
	if err := tx.Delete(tableKVs, raw); err != nil {
		return err
	}
	if err := tx.Insert(tableTombstones, &tombstone{Key: key, Index: idx}); err != nil {
		return err
	}
	if err := setIndexTxn(tx, tableKVs, idx); err != nil {
		return err
	}
	return setIndexTxn(tx, tableTombstones, idx)
}

// kvDeleteCASTxn deletes only if ModifyIndex matches; a missing key counts
// as success, as in Consul.
func kvDeleteCASTxn(tx *memdb.Txn, idx uint64, in *structs.DirEntry) (bool, error) {
	raw, err := tx.First(tableKVs, "id", in.Key)
	if err != nil {
		return false, err
	}
	if raw == nil {
		return true, nil
	}
	if raw.(*structs.DirEntry).ModifyIndex != in.ModifyIndex {
		return false, nil
	}
	return true, kvDeleteTxn(tx, idx, in.Key)
}

func kvDeleteTreeTxn(tx *memdb.Txn, idx uint64, prefix string) error {
	it, err := tx.Get(tableKVs, "id_prefix", prefix)
	if err != nil {
		return err
	}
	var keys []string
	for raw := it.Next(); raw != nil; raw = it.Next() {
		keys = append(keys, raw.(*structs.DirEntry).Key)
	}
	for _, k := range keys {
		if err := kvDeleteTxn(tx, idx, k); err != nil {
			return err
		}
	}
	return nil
}
