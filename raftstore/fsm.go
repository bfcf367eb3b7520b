package raftstore

import (
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-memdb"
	"github.com/hashicorp/raft"
	"github.com/minconsul/minconsul/structs"
)

// applyResult is what FSM.Apply hands back through the raft future.
type applyResult struct {
	Value any
	Err   error
}

// FSM applies committed commands to the state store. It never panics on
// input: a command it cannot decode or apply becomes an error value that
// the writer sees, and the state store is left untouched.
type FSM struct {
	logger hclog.Logger

	mu    sync.RWMutex // guards state (swapped by Restore)
	state *StateStore
}

// NewFSM returns an FSM over an empty state store.
func NewFSM(logger hclog.Logger) (*FSM, error) {
	st, err := NewStateStore()
	if err != nil {
		return nil, err
	}
	return &FSM{logger: logger, state: st}, nil
}

// State returns the current state store (replaced on restore).
func (f *FSM) State() *StateStore {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return f.state
}

// Apply implements raft.FSM.
func (f *FSM) Apply(l *raft.Log) any {
	return f.ApplyBatch([]*raft.Log{l})[0]
}

func decodeError(err error) applyResult {
	return applyResult{Err: structs.BadRequest(fmt.Sprintf("decode command: %v", err))}
}

// applyOne applies a decoded command in its own transaction and wraps the
// outcome for the raft future.
func (f *FSM) applyOne(idx uint64, cmd *structs.Command) applyResult {
	v, err := f.applyCommand(idx, cmd)
	if err != nil && !errors.Is(err, structs.ErrBadRequest) && !errors.Is(err, structs.ErrRefused) {
		f.logger.Error("apply failed", "type", cmd.Type, "index", idx, "error", err)
	}
	return applyResult{Value: v, Err: err}
}

// applyCommand runs one command in one write transaction: it commits
// entirely or not at all.
func (f *FSM) applyCommand(idx uint64, cmd *structs.Command) (any, error) {
	tx := f.State().db.Txn(true)
	defer tx.Abort()
	var result any = true
	var err error
	switch {
	case cmd.Type.IsKV():
		if cmd.KV == nil {
			return nil, structs.BadRequest(fmt.Sprintf("%s: missing KV entry", cmd.Type))
		}
		result, err = applyKV(tx, idx, cmd.Type, cmd.KV)
	case cmd.Type == structs.CatalogRegister:
		if cmd.Register == nil {
			return nil, structs.BadRequest("CatalogRegister: missing request")
		}
		result, err = nil, ensureRegistrationTxn(tx, idx, cmd.Register)
	case cmd.Type == structs.KVLock || cmd.Type == structs.KVUnlock:
		if cmd.KV == nil {
			return nil, structs.BadRequest(fmt.Sprintf("%s: missing KV entry", cmd.Type))
		}
		result, err = applyKV(tx, idx, cmd.Type, cmd.KV)
	case cmd.Type == structs.SessionCreate:
		if cmd.Session == nil {
			return nil, structs.BadRequest("SessionCreate: missing session")
		}
		result, err = nil, sessionCreateTxn(tx, idx, cmd.Session)
	case cmd.Type == structs.SessionDestroy:
		if cmd.Session == nil {
			return nil, structs.BadRequest("SessionDestroy: missing session")
		}
		result, err = true, deleteSessionTxn(tx, idx, cmd.Session.ID)
	case cmd.Type == structs.TxnApply:
		if len(cmd.Txn) == 0 {
			return nil, structs.BadRequest("TxnApply: no operations")
		}
		// All or nothing: with any failed operation nothing commits.
		res := txnDispatchTxn(tx, idx, cmd.Txn)
		if len(res.Errors) == 0 {
			tx.Commit()
		}
		return res, nil
	case cmd.Type == structs.CoordinateBatchUpdate:
		result, err = nil, coordinateBatchUpdateTxn(tx, idx, cmd.Coordinates)
	case cmd.Type == structs.CatalogDeregister:
		if cmd.Deregister == nil {
			return nil, structs.BadRequest("CatalogDeregister: missing request")
		}
		result, err = nil, deregisterTxn(tx, idx, cmd.Deregister)
	default:
		return nil, structs.BadRequest(fmt.Sprintf("unsupported command %s", cmd.Type))
	}
	if err != nil {
		return nil, err
	}
	tx.Commit()
	return result, nil
}

func applyKV(tx *memdb.Txn, idx uint64, t structs.CommandType, e *structs.DirEntry) (any, error) {
	switch t {
	case structs.KVSet:
		return true, kvSetTxn(tx, idx, e)
	case structs.KVCAS:
		return kvCASTxn(tx, idx, e)
	case structs.KVDelete:
		return true, kvDeleteTxn(tx, idx, e.Key)
	case structs.KVDeleteCAS:
		return kvDeleteCASTxn(tx, idx, e)
	case structs.KVLock:
		return kvLockTxn(tx, idx, e)
	case structs.KVUnlock:
		return kvUnlockTxn(tx, idx, e)
	default:
		return true, kvDeleteTreeTxn(tx, idx, e.Key)
	}
}

// Snapshot implements raft.FSM: a point-in-time memdb snapshot, persisted
// outside the apply loop.
func (f *FSM) Snapshot() (raft.FSMSnapshot, error) {
	return &fsmSnapshot{db: f.State().db.Snapshot()}, nil
}

// Restore implements raft.FSM: it builds a new state store from the
// snapshot and swaps it in, then abandons the old one so blocked queries
// re-run against the new state.
func (f *FSM) Restore(rc io.ReadCloser) error {
	defer rc.Close()
	st, err := NewStateStore()
	if err != nil {
		return err
	}
	if err := restoreSnapshot(st, rc); err != nil {
		return fmt.Errorf("restore snapshot: %w", err)
	}
	f.mu.Lock()
	old := f.state
	f.state = st
	f.mu.Unlock()
	old.abandon()
	return nil
}
