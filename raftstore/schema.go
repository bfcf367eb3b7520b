package raftstore

import (
	"fmt"
	"time"

	"github.com/minconsul/minconsul/structs"

	"github.com/hashicorp/go-memdb"
)

// Table names.
const (
	tableIndex      = "index"
	tableKVs        = "kvs"
	tableTombstones = "tombstones"
	tableNodes      = "nodes"
	tableServices   = "services"
	tableChecks     = "checks"
	tableSessions   = "sessions"
	// tableLockDelays is local to each server and never snapshotted: the
	// wall-clock time until which a key released by an invalidated
	// session may not be locked again (Consul keeps it in memory too).
	tableLockDelays = "lock_delays"
)

// indexEntry records the Raft index at which a table (or one service's
// instances, key "service.<name>") last changed. Blocking queries return
// these so that a reader only wakes when something it read moved.
type indexEntry struct {
	Key   string
	Value uint64
}

// tombstone remembers the index of a deleted key so that list and get
// indexes never go backwards after a delete.
type tombstone struct {
	Key   string
	Index uint64
}

// serviceRecord is how the services table stores an instance: the
// node-level fields of structs.ServiceNode are filled in from the nodes
// table on read, so a node address change needs no service rewrite.
type serviceRecord struct {
	Node    string
	ID      string
	Service string
	NS      *structs.NodeService
}

// lockDelay is a tableLockDelays row.
type lockDelay struct {
	Key     string
	Expires time.Time
}

func schema() *memdb.DBSchema {
	return &memdb.DBSchema{Tables: map[string]*memdb.TableSchema{
		tableCoordinates: coordinatesTable(),
		tableIndex: {
			Name: tableIndex,
			Indexes: map[string]*memdb.IndexSchema{
				"id": {Name: "id", Unique: true, Indexer: &memdb.StringFieldIndex{Field: "Key"}},
			},
		},
		tableKVs: {
			Name: tableKVs,
			Indexes: map[string]*memdb.IndexSchema{
				"id": {Name: "id", Unique: true, Indexer: &memdb.StringFieldIndex{Field: "Key"}},
				// Only held keys are indexed (an empty Session is missing).
				"session": {Name: "session", AllowMissing: true, Indexer: &memdb.StringFieldIndex{Field: "Session"}},
			},
		},
		tableSessions: {
			Name: tableSessions,
			Indexes: map[string]*memdb.IndexSchema{
				"id":   {Name: "id", Unique: true, Indexer: &memdb.UUIDFieldIndex{Field: "ID"}},
				"node": {Name: "node", Indexer: &memdb.StringFieldIndex{Field: "Node", Lowercase: true}},
			},
		},
		tableLockDelays: {
			Name: tableLockDelays,
			Indexes: map[string]*memdb.IndexSchema{
				"id": {Name: "id", Unique: true, Indexer: &memdb.StringFieldIndex{Field: "Key"}},
			},
		},
		tableTombstones: {
			Name: tableTombstones,
			Indexes: map[string]*memdb.IndexSchema{
				"id": {Name: "id", Unique: true, Indexer: &memdb.StringFieldIndex{Field: "Key"}},
			},
		},
		tableNodes: {
			Name: tableNodes,
			Indexes: map[string]*memdb.IndexSchema{
				"id": {Name: "id", Unique: true, Indexer: &memdb.StringFieldIndex{Field: "Node", Lowercase: true}},
			},
		},
		tableServices: {
			Name: tableServices,
			Indexes: map[string]*memdb.IndexSchema{
				"id": {Name: "id", Unique: true, Indexer: &memdb.CompoundIndex{Indexes: []memdb.Indexer{
					&memdb.StringFieldIndex{Field: "Node", Lowercase: true},
					&memdb.StringFieldIndex{Field: "ID"},
				}}},
				"node":    {Name: "node", Indexer: &memdb.StringFieldIndex{Field: "Node", Lowercase: true}},
				"service": {Name: "service", Indexer: &memdb.StringFieldIndex{Field: "Service", Lowercase: true}},
			},
		},
		tableChecks: {
			Name: tableChecks,
			Indexes: map[string]*memdb.IndexSchema{
				"id": {Name: "id", Unique: true, Indexer: &memdb.CompoundIndex{Indexes: []memdb.Indexer{
					&memdb.StringFieldIndex{Field: "Node", Lowercase: true},
					&memdb.StringFieldIndex{Field: "CheckID"},
				}}},
				"node":    {Name: "node", Indexer: &memdb.StringFieldIndex{Field: "Node", Lowercase: true}},
				"status":  {Name: "status", Indexer: &memdb.StringFieldIndex{Field: "Status", Lowercase: true}},
				"service": {Name: "service", AllowMissing: true, Indexer: &memdb.StringFieldIndex{Field: "ServiceName", Lowercase: true}},
				"node_service": {Name: "node_service", AllowMissing: true, Indexer: &memdb.CompoundIndex{Indexes: []memdb.Indexer{
					&memdb.StringFieldIndex{Field: "Node", Lowercase: true},
					&memdb.StringFieldIndex{Field: "ServiceID"},
				}}},
			},
		},
	}}
}

func newDB() (*memdb.MemDB, error) {
	db, err := memdb.NewMemDB(schema())
	if err != nil {
		return nil, fmt.Errorf("memdb schema: %w", err)
	}
	return db, nil
}
