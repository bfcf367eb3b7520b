package raftstore

import (
	"errors"
	"fmt"

	"github.com/hashicorp/go-memdb"
	"github.com/minconsul/minconsul/structs"
)

// Transactions run their operations in one memdb transaction through the
// same inner functions the single endpoints use (kvSetTxn, ensureNodeTxn,
// ...). Every operation runs even after one fails, so that the answer names
// every failing index; with any failure the caller aborts, and nothing of
// the transaction is visible.

// txnDispatchTxn runs ops at idx in tx (a read transaction when none of
// them writes).
func txnDispatchTxn(tx *memdb.Txn, idx uint64, ops structs.TxnOps) *structs.TxnResponse {
	res := &structs.TxnResponse{}
	for i, op := range ops {
		var (
			out structs.TxnResults
			err error
		)
		switch {
		case op == nil:
			err = errors.New("no operation specified")
		case op.KV != nil:
			out, err = txnKV(tx, idx, op.KV)
		case op.Node != nil:
			out, err = txnNode(tx, idx, op.Node)
		case op.Service != nil:
			out, err = txnService(tx, idx, op.Service)
		case op.Check != nil:
			out, err = txnCheck(tx, idx, op.Check)
		default:
			err = errors.New("no operation specified")
		}
		if err != nil {
			res.Errors = append(res.Errors, &structs.TxnError{OpIndex: i, What: err.Error()})
			continue
		}
		res.Results = append(res.Results, out...)
	}
	if len(res.Errors) > 0 {
		res.Results = nil
	}
	return res
}

// TxnRead runs a transaction without writes as a read.
func (s *StateStore) TxnRead(_ memdb.WatchSet, req *structs.TxnReadRequest) (uint64, *structs.TxnResponse, error) {
	for _, op := range req.Ops {
		if op == nil || op.IsWrite() {
			return 0, nil, structs.BadRequest("read transaction contains a write")
		}
	}
	tx := s.db.Txn(false)
	defer tx.Abort()
	idx := maxIndexTxn(tx, tableKVs, tableTombstones, tableNodes, tableServices, tableChecks)
	return idx, txnDispatchTxn(tx, 0, req.Ops), nil
}

// txnKVResult is a write's result: the stored entry without its value.
func txnKVResult(tx *memdb.Txn, key string, withValue bool) (structs.TxnResults, error) {
	raw, err := tx.First(tableKVs, "id", key)
	if err != nil || raw == nil {
		return nil, err
	}
	e := raw.(*structs.DirEntry).Clone()
	if !withValue {
		e.Value = nil
	}
	return structs.TxnResults{{KV: e}}, nil
}

func kvEntryTxn(tx *memdb.Txn, key string) (*structs.DirEntry, error) {
	raw, err := tx.First(tableKVs, "id", key)
	if err != nil || raw == nil {
		return nil, err
	}
	return raw.(*structs.DirEntry), nil
}

func txnKV(tx *memdb.Txn, idx uint64, op *structs.TxnKVOp) (structs.TxnResults, error) {
	e := op.DirEnt
	ok := true
	var err error
	switch op.Verb {
	case "set":
		err = kvSetTxn(tx, idx, &e)
	case "cas":
		if ok, err = kvCASTxn(tx, idx, &e); !ok && err == nil {
			err = fmt.Errorf("failed to set key %q, index is stale", e.Key)
		}
	case "lock":
		if ok, err = kvLockTxn(tx, idx, &e); !ok && err == nil {
			err = fmt.Errorf("failed to lock key %q, lock is already held", e.Key)
		}
	case "unlock":
		if ok, err = kvUnlockTxn(tx, idx, &e); !ok && err == nil {
			err = fmt.Errorf("failed to unlock key %q, lock isn't held, or is held by another session", e.Key)
		}
	case "delete":
		return nil, kvDeleteTxn(tx, idx, e.Key)
	case "delete-tree":
		return nil, kvDeleteTreeTxn(tx, idx, e.Key)
	case "delete-cas":
		if ok, err = kvDeleteCASTxn(tx, idx, &e); !ok && err == nil {
			err = fmt.Errorf("failed to delete key %q, index is stale", e.Key)
		}
		return nil, err
	case "get":
		cur, err := kvEntryTxn(tx, e.Key)
		if err == nil && cur == nil {
			err = fmt.Errorf("key %q doesn't exist", e.Key)
		}
		if err != nil {
			return nil, err
		}
		return txnKVResult(tx, e.Key, true)
	case "get-tree":
		_, ents, err := kvListTxn(tx, nil, e.Key)
		if err != nil {
			return nil, err
		}
		out := make(structs.TxnResults, 0, len(ents))
		for _, ent := range ents {
			out = append(out, &structs.TxnResult{KV: ent.Clone()})
		}
		return out, nil
	case "check-index":
		cur, err := kvEntryTxn(tx, e.Key)
		switch {
		case err != nil:
			return nil, err
		case cur == nil:
			return nil, fmt.Errorf("key %q doesn't exist", e.Key)
		case cur.ModifyIndex != e.ModifyIndex:
			return nil, fmt.Errorf("current modify index %d for key %q doesn't match %d", cur.ModifyIndex, e.Key, e.ModifyIndex)
		}
	case "check-session":
		cur, err := kvEntryTxn(tx, e.Key)
		switch {
		case err != nil:
			return nil, err
		case cur == nil:
			return nil, fmt.Errorf("failed to check session, key %q doesn't exist", e.Key)
		case cur.Session != e.Session:
			return nil, fmt.Errorf("failed session check for key %q, current session %q != %q", e.Key, cur.Session, e.Session)
		}
	case "check-not-exists":
		cur, err := kvEntryTxn(tx, e.Key)
		if err == nil && cur != nil {
			err = fmt.Errorf("key %q exists", e.Key)
		}
		return nil, err
	default:
		return nil, fmt.Errorf("unknown KV verb %q", op.Verb)
	}
	if err != nil {
		return nil, err
	}
	return txnKVResult(tx, e.Key, false)
}

func nodeTxn(tx *memdb.Txn, name string) (*structs.Node, error) {
	raw, err := tx.First(tableNodes, "id", name)
	if err != nil || raw == nil {
		return nil, err
	}
	return raw.(*structs.Node), nil
}

func txnNode(tx *memdb.Txn, idx uint64, op *structs.TxnNodeOp) (structs.TxnResults, error) {
	n := op.Node
	cur, err := nodeTxn(tx, n.Node)
	if err != nil {
		return nil, err
	}
	switch op.Verb {
	case "get":
		if cur == nil {
			return nil, fmt.Errorf("node %q doesn't exist", n.Node)
		}
		c := *cur
		return structs.TxnResults{{Node: &c}}, nil
	case "cas":
		if (n.ModifyIndex == 0) != (cur == nil) || (cur != nil && cur.ModifyIndex != n.ModifyIndex) {
			return nil, fmt.Errorf("failed to set node %q, index is stale", n.Node)
		}
		fallthrough
	case "set":
		if err := ensureNodeTxn(tx, idx, &n); err != nil {
			return nil, err
		}
		stored, err := nodeTxn(tx, n.Node)
		if err != nil || stored == nil {
			return nil, err
		}
		c := *stored
		return structs.TxnResults{{Node: &c}}, nil
	case "delete-cas":
		if cur == nil || cur.ModifyIndex != n.ModifyIndex {
			return nil, fmt.Errorf("failed to delete node %q, index is stale", n.Node)
		}
		fallthrough
	case "delete":
		return nil, deleteNodeTxn(tx, idx, n.Node)
	}
	return nil, fmt.Errorf("unknown Node verb %q", op.Verb)
}

func nodeServiceTxn(tx *memdb.Txn, node, id string) (*structs.NodeService, error) {
	raw, err := tx.First(tableServices, "id", node, id)
	if err != nil || raw == nil {
		return nil, err
	}
	ns := *raw.(*serviceRecord).NS
	return &ns, nil
}

func txnService(tx *memdb.Txn, idx uint64, op *structs.TxnServiceOp) (structs.TxnResults, error) {
	svc := op.Service
	id := svc.ID
	if id == "" {
		id = svc.Service
	}
	cur, err := nodeServiceTxn(tx, op.Node, id)
	if err != nil {
		return nil, err
	}
	switch op.Verb {
	case "get":
		if cur == nil {
			return nil, fmt.Errorf("service %q on node %q doesn't exist", id, op.Node)
		}
		return structs.TxnResults{{Service: cur}}, nil
	case "cas":
		if (svc.ModifyIndex == 0) != (cur == nil) || (cur != nil && cur.ModifyIndex != svc.ModifyIndex) {
			return nil, fmt.Errorf("failed to set service %q on node %q, index is stale", id, op.Node)
		}
		fallthrough
	case "set":
		n, err := nodeTxn(tx, op.Node)
		if err != nil {
			return nil, err
		}
		if n == nil {
			return nil, errors.New("Missing node registration")
		}
		if err := ensureServiceTxn(tx, idx, n.Node, &svc); err != nil {
			return nil, err
		}
		stored, err := nodeServiceTxn(tx, n.Node, id)
		if err != nil || stored == nil {
			return nil, err
		}
		return structs.TxnResults{{Service: stored}}, nil
	case "delete-cas":
		if cur == nil || cur.ModifyIndex != svc.ModifyIndex {
			return nil, fmt.Errorf("failed to delete service %q on node %q, index is stale", id, op.Node)
		}
		fallthrough
	case "delete":
		return nil, deleteServiceTxn(tx, idx, op.Node, id)
	}
	return nil, fmt.Errorf("unknown Service verb %q", op.Verb)
}

func checkTxn(tx *memdb.Txn, node, id string) (*structs.HealthCheck, error) {
	raw, err := tx.First(tableChecks, "id", node, id)
	if err != nil || raw == nil {
		return nil, err
	}
	c := *raw.(*structs.HealthCheck)
	return &c, nil
}

func txnCheck(tx *memdb.Txn, idx uint64, op *structs.TxnCheckOp) (structs.TxnResults, error) {
	hc := op.Check
	cur, err := checkTxn(tx, hc.Node, hc.CheckID)
	if err != nil {
		return nil, err
	}
	switch op.Verb {
	case "get":
		if cur == nil {
			return nil, fmt.Errorf("check %q on node %q doesn't exist", hc.CheckID, hc.Node)
		}
		return structs.TxnResults{{Check: cur}}, nil
	case "cas":
		if (hc.ModifyIndex == 0) != (cur == nil) || (cur != nil && cur.ModifyIndex != hc.ModifyIndex) {
			return nil, fmt.Errorf("failed to set check %q on node %q, index is stale", hc.CheckID, hc.Node)
		}
		fallthrough
	case "set":
		n, err := nodeTxn(tx, hc.Node)
		if err != nil {
			return nil, err
		}
		if n == nil {
			return nil, errors.New("Missing node registration")
		}
		if err := ensureCheckTxn(tx, idx, n.Node, &hc); err != nil {
			return nil, err
		}
		stored, err := checkTxn(tx, n.Node, hc.CheckID)
		if err != nil || stored == nil {
			return nil, err
		}
		return structs.TxnResults{{Check: stored}}, nil
	case "delete-cas":
		if cur == nil || cur.ModifyIndex != hc.ModifyIndex {
			return nil, fmt.Errorf("failed to delete check %q on node %q, index is stale", hc.CheckID, hc.Node)
		}
		fallthrough
	case "delete":
		return nil, deleteCheckTxn(tx, idx, hc.Node, hc.CheckID)
	}
	return nil, fmt.Errorf("unknown Check verb %q", op.Verb)
}
