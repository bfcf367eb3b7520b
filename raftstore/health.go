package raftstore

import (
	"fmt"
	"strings"

	"github.com/hashicorp/go-memdb"
	"github.com/minconsul/minconsul/structs"
)

func collectChecks(it memdb.ResultIterator) structs.HealthChecks {
	out := structs.HealthChecks{}
	for raw := it.Next(); raw != nil; raw = it.Next() {
		out = append(out, raw.(*structs.HealthCheck))
	}
	return out
}

// NodeChecks lists the checks on one node.
func (s *StateStore) NodeChecks(ws memdb.WatchSet, node string) (uint64, structs.HealthChecks, error) {
	tx := s.db.Txn(false)
	defer tx.Abort()
	it, err := tx.Get(tableChecks, "node", node)
	if err != nil {
		return 0, nil, fmt.Errorf("node checks %q: %w", node, err)
	}
	ws.Add(it.WatchCh())
	return maxIndexTxn(tx, tableChecks), collectChecks(it), nil
}

// ServiceChecks lists the checks of every instance of a service.
func (s *StateStore) ServiceChecks(ws memdb.WatchSet, service string) (uint64, structs.HealthChecks, error) {
	tx := s.db.Txn(false)
	defer tx.Abort()
	it, err := tx.Get(tableChecks, "service", service)
	if err != nil {
		return 0, nil, fmt.Errorf("service checks %q: %w", service, err)
	}
	ws.Add(it.WatchCh())
	return maxIndexTxn(tx, tableChecks), collectChecks(it), nil
}

// ChecksInState lists checks in a state; "any" lists all.
func (s *StateStore) ChecksInState(ws memdb.WatchSet, state string) (uint64, structs.HealthChecks, error) {
	tx := s.db.Txn(false)
	defer tx.Abort()
	var it memdb.ResultIterator
	var err error
	if state == structs.HealthAny {
		it, err = tx.Get(tableChecks, "id")
	} else {
		it, err = tx.Get(tableChecks, "status", state)
	}
	if err != nil {
		return 0, nil, fmt.Errorf("checks in state %q: %w", state, err)
	}
	ws.Add(it.WatchCh())
	return maxIndexTxn(tx, tableChecks), collectChecks(it), nil
}

// CheckServiceNodes is /v1/health/service/<name>: each instance with its
// node and the node-level plus service-level checks.
func (s *StateStore) CheckServiceNodes(ws memdb.WatchSet, service string, tags []string) (uint64, structs.CheckServiceNodes, error) {
	tx := s.db.Txn(false)
	defer tx.Abort()
	idx, recs, err := serviceInstancesTxn(tx, ws, service, tags)
	if err != nil {
		return 0, nil, fmt.Errorf("health service %q: %w", service, err)
	}
	out := make(structs.CheckServiceNodes, 0, len(recs))
	for _, rec := range recs {
		raw, err := tx.First(tableNodes, "id", rec.Node)
		if err != nil || raw == nil {
			continue
		}
		checks := structs.HealthChecks{}
		it, err := tx.Get(tableChecks, "node", rec.Node)
		if err != nil {
			return 0, nil, fmt.Errorf("health service %q: %w", service, err)
		}
		for c := it.Next(); c != nil; c = it.Next() {
			hc := c.(*structs.HealthCheck)
			if hc.ServiceID == "" || hc.ServiceID == rec.ID {
				checks = append(checks, hc)
			}
		}
		out = append(out, structs.CheckServiceNode{Node: raw.(*structs.Node), Service: rec.NS, Checks: checks})
	}
	return idx, out, nil
}

// NodesByAddress lists nodes whose address is addr (for DNS PTR answers).
func (s *StateStore) NodesByAddress(addr string) []*structs.Node {
	tx := s.db.Txn(false)
	defer tx.Abort()
	it, err := tx.Get(tableNodes, "id")
	if err != nil {
		return nil
	}
	var out []*structs.Node
	for raw := it.Next(); raw != nil; raw = it.Next() {
		if n := raw.(*structs.Node); strings.EqualFold(n.Address, addr) {
			out = append(out, n)
		}
	}
	return out
}
