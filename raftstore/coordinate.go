package raftstore

import (
	"fmt"

	"github.com/hashicorp/go-memdb"

	"github.com/minconsul/minconsul/structs"
)

// Network coordinates: one entry per node (the LAN pool has one segment),
// written by CoordinateBatchUpdate and removed with the node; the table
// index "coordinates" answers blocking reads.

const tableCoordinates = "coordinates"

// recordCoordinate is the snapshot record of a coordinate entry (an
// explicit value, apart from the sequence other record types take).
const recordCoordinate recordType = 20

func coordinatesTable() *memdb.TableSchema {
	return &memdb.TableSchema{
		Name: tableCoordinates,
		Indexes: map[string]*memdb.IndexSchema{
			"id": {Name: "id", Unique: true, Indexer: &memdb.StringFieldIndex{Field: "Node", Lowercase: true}},
		},
	}
}

// coordinateBatchUpdateTxn stores the coordinates of nodes the catalog
// has; others are dropped (the node may have left since its agent sent).
func coordinateBatchUpdateTxn(tx *memdb.Txn, idx uint64, updates structs.Coordinates) error {
	changed := false
	for _, u := range updates {
		if u == nil || u.Coord == nil || u.Node == "" {
			continue
		}
		if !u.Coord.IsValid() {
			return structs.BadRequest("invalid coordinate")
		}
		node, err := tx.First(tableNodes, "id", u.Node)
		if err != nil {
			return fmt.Errorf("coordinate %s: %w", u.Node, err)
		}
		if node == nil {
			continue
		}
		e := &structs.CoordinateEntry{Node: node.(*structs.Node).Node, Segment: u.Segment, Coord: u.Coord.Clone()}
		if err := tx.Insert(tableCoordinates, e); err != nil {
			return fmt.Errorf("coordinate %s: %w", u.Node, err)
		}
		changed = true
	}
	if !changed {
		return nil
	}
	return setIndexTxn(tx, tableCoordinates, idx)
}

// deleteCoordinateTxn removes a deregistered node's coordinate.
func deleteCoordinateTxn(tx *memdb.Txn, idx uint64, node string) error {
	n, err := tx.DeleteAll(tableCoordinates, "id", node)
	if err != nil || n == 0 {
		return err
	}
	return setIndexTxn(tx, tableCoordinates, idx)
}

// Coordinates lists every node's coordinate, by node name.
func (s *StateStore) Coordinates(ws memdb.WatchSet, _ *structs.DCSpecificRequest) (uint64, structs.Coordinates, error) {
	tx := s.db.Txn(false)
	defer tx.Abort()
	it, err := tx.Get(tableCoordinates, "id")
	if err != nil {
		return 0, nil, fmt.Errorf("coordinates: %w", err)
	}
	ws.Add(it.WatchCh())
	out := structs.Coordinates{}
	for raw := it.Next(); raw != nil; raw = it.Next() {
		out = append(out, raw.(*structs.CoordinateEntry))
	}
	return maxIndexTxn(tx, tableCoordinates), out, nil
}

// NodeCoordinate lists one node's coordinates (empty when it has none).
func (s *StateStore) NodeCoordinate(ws memdb.WatchSet, req *structs.NodeSpecificRequest) (uint64, structs.Coordinates, error) {
	tx := s.db.Txn(false)
	defer tx.Abort()
	ch, raw, err := tx.FirstWatch(tableCoordinates, "id", req.Node)
	if err != nil {
		return 0, nil, fmt.Errorf("coordinate %s: %w", req.Node, err)
	}
	ws.Add(ch)
	out := structs.Coordinates{}
	if raw != nil {
		out = append(out, raw.(*structs.CoordinateEntry))
	}
	return maxIndexTxn(tx, tableCoordinates), out, nil
}
