package raftstore

import (
	"fmt"

	"github.com/hashicorp/raft"
	"github.com/minconsul/minconsul/structs"
)

var _ raft.BatchingFSM = (*FSM)(nil)

// ApplyBatch implements raft.BatchingFSM. Raft hands over every log
// committed since its last call (up to MaxAppendEntries); under concurrent
// writers most are small KV writes, and committing a run of them in one
// memdb transaction saves a transaction per write (radix path copies, a
// commit, a round of watch-channel closes and reader wakeups).
//
// The outcome is exactly that of Apply on each log in order:
//   - Consecutive KV commands share one transaction, each writing at its own
//     log index (CreateIndex/ModifyIndex, tombstones, the table index). A KV
//     command writes fully or, when its CAS check fails, not at all; the
//     only errors it can meet are memdb's. On any error the shared
//     transaction is aborted and the run re-applied one log at a time, so no
//     log is half applied and each gets its own result.
//   - The elements of a KVBatch entry (see batcher.go) join the run at the
//     entry's index; an element that is not a KV command is refused alone.
//     The entry's result is a BatchResult, one result per element.
//   - Any other command (catalog writes may fail validation after writing
//     part of their transaction) commits the pending run first, then applies
//     alone, in order.
//   - Non-command and undecodable logs write nothing and are answered in
//     place without ending a run.
//
// Readers see the state after a whole run, never one between its logs; that
// state is the one Apply would have reached, and its indexes only grow.
func (f *FSM) ApplyBatch(logs []*raft.Log) []any {
	out := make([]any, len(logs))
	cmds := make([]structs.Command, len(logs))
	run := make([]kvItem, 0, len(logs)) // the pending KV commands
	flush := func() {
		f.applyKVRun(run)
		run = run[:0]
	}
	for i, l := range logs {
		if l.Type != raft.LogCommand {
			continue // Apply answers nil
		}
		c := &cmds[i]
		if err := structs.Decode(l.Data, c); err != nil {
			out[i] = decodeError(err)
			continue
		}
		switch {
		case c.Type == structs.KVBatch:
			res := make(BatchResult, len(c.Batch))
			subs := make([]structs.Command, len(c.Batch))
			for j, b := range c.Batch {
				s := &subs[j]
				if err := structs.Decode(b, s); err != nil {
					res[j] = decodeError(err)
					continue
				}
				if !s.Type.IsKV() || s.KV == nil {
					res[j] = applyResult{Err: structs.BadRequest(fmt.Sprintf("%s in a KV batch", s.Type))}
					continue
				}
				run = append(run, kvItem{idx: l.Index, cmd: s, out: &res[j]})
			}
			out[i] = res
		case c.Type.IsKV() && c.KV != nil:
			run = append(run, kvItem{idx: l.Index, cmd: c, out: &out[i]})
		default:
			flush()
			out[i] = f.applyOne(l.Index, c)
		}
	}
	flush()
	return out
}

// kvItem is a KV command waiting in a run: the index it writes at (the
// elements of a KVBatch share their entry's) and where its result goes.
type kvItem struct {
	idx uint64
	cmd *structs.Command
	out *any
}

// BatchResult is the result of a KVBatch entry: one applyResult per element.
type BatchResult []any

// applyKVRun applies a run of KV commands in one transaction, or, if any
// fails, each in its own.
func (f *FSM) applyKVRun(run []kvItem) {
	switch len(run) {
	case 0:
		return
	case 1:
		*run[0].out = f.applyOne(run[0].idx, run[0].cmd)
		return
	}
	tx := f.State().db.Txn(true)
	for _, it := range run {
		v, err := applyKV(tx, it.idx, it.cmd.Type, it.cmd.KV)
		if err != nil {
			tx.Abort()
			f.logger.Debug("batched KV apply failed, applying one by one",
				"index", it.idx, "error", err)
			for _, jt := range run {
				*jt.out = f.applyOne(jt.idx, jt.cmd)
			}
			return
		}
		*it.out = applyResult{Value: v}
	}
	tx.Commit()
}
