package raftstore

import (
	"errors"
	"fmt"
	"io"

	"github.com/hashicorp/go-memdb"
	"github.com/hashicorp/raft"
	"github.com/minconsul/minconsul/structs"
)

// Snapshot records: a type byte, then the msgpack-encoded object. The
// stream ends with recordEnd so truncated snapshots are detected.
type recordType uint8

const (
	recordIndex recordType = iota + 1
	recordKV
	recordTombstone
	recordNode
	recordService
	recordCheck
	recordSession
	recordEnd = 255
)

// snapshotHeader starts every snapshot stream.
type snapshotHeader struct {
	Version   int
	LastIndex uint64
}

type fsmSnapshot struct {
	db *memdb.MemDB
}

// Persist implements raft.FSMSnapshot.
func (s *fsmSnapshot) Persist(sink raft.SnapshotSink) error {
	if err := writeSnapshot(s.db, sink); err != nil {
		sink.Cancel()
		return err
	}
	return sink.Close()
}

// Release implements raft.FSMSnapshot.
func (s *fsmSnapshot) Release() {}

// WriteSnapshot streams the whole state store (used by Persist and by backups).
func (s *StateStore) WriteSnapshot(w io.Writer) error { return writeSnapshot(s.db.Snapshot(), w) }

func writeSnapshot(db *memdb.MemDB, w io.Writer) error {
	enc := structs.NewEncoder(w)
	tx := db.Txn(false)
	defer tx.Abort()
	if err := enc.Encode(snapshotHeader{Version: 1}); err != nil {
		return err
	}
	tables := []struct {
		name string
		rec  recordType
	}{
		{tableIndex, recordIndex}, {tableKVs, recordKV}, {tableTombstones, recordTombstone},
		{tableNodes, recordNode}, {tableServices, recordService}, {tableChecks, recordCheck},
		{tableSessions, recordSession},
		{tableCoordinates, recordCoordinate},
	}
	for _, t := range tables {
		it, err := tx.Get(t.name, "id")
		if err != nil {
			return fmt.Errorf("snapshot %s: %w", t.name, err)
		}
		for raw := it.Next(); raw != nil; raw = it.Next() {
			if err := enc.Encode(t.rec); err != nil {
				return err
			}
			if err := enc.Encode(raw); err != nil {
				return fmt.Errorf("snapshot %s: %w", t.name, err)
			}
		}
	}
	return enc.Encode(recordType(recordEnd))
}

func restoreSnapshot(st *StateStore, r io.Reader) error {
	dec := structs.NewDecoder(r)
	var hdr snapshotHeader
	if err := dec.Decode(&hdr); err != nil {
		return fmt.Errorf("header: %w", err)
	}
	if hdr.Version != 1 {
		return fmt.Errorf("unsupported snapshot version %d", hdr.Version)
	}
	tx := st.db.Txn(true)
	defer tx.Abort()
	for {
		var rt recordType
		if err := dec.Decode(&rt); err != nil {
			if errors.Is(err, io.EOF) {
				return errors.New("truncated snapshot")
			}
			return err
		}
		var table string
		var obj any
		switch rt {
		case recordEnd:
			tx.Commit()
			return nil
		case recordIndex:
			table, obj = tableIndex, &indexEntry{}
		case recordKV:
			table, obj = tableKVs, &structs.DirEntry{}
		case recordTombstone:
			table, obj = tableTombstones, &tombstone{}
		case recordNode:
			table, obj = tableNodes, &structs.Node{}
		case recordService:
			table, obj = tableServices, &serviceRecord{}
		case recordCheck:
			table, obj = tableChecks, &structs.HealthCheck{}
		case recordSession:
			table, obj = tableSessions, &structs.Session{}
		case recordCoordinate:
			table, obj = tableCoordinates, &structs.CoordinateEntry{}
		default:
			return fmt.Errorf("unknown record type %d", rt)
		}
		if err := dec.Decode(obj); err != nil {
			return fmt.Errorf("%s record: %w", table, err)
		}
		if err := tx.Insert(table, obj); err != nil {
			return fmt.Errorf("%s record: %w", table, err)
		}
	}
}

// ReadSnapshot replaces this (empty) state store's contents with a stream
// written by WriteSnapshot.
func (s *StateStore) ReadSnapshot(r io.Reader) error { return restoreSnapshot(s, r) }
