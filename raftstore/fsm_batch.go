package raftstore

import (
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
	run := make([]int, 0, len(logs)) // positions of the pending KV commands
	flush := func() {
		f.applyKVRun(logs, cmds, run, out)
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
		if isKVCommand(c.Type) && c.KV != nil {
			run = append(run, i)
			continue
		}
		flush()
		out[i] = f.applyOne(l.Index, c)
	}
	flush()
	return out
}

// applyKVRun applies the KV commands at positions run in one transaction,
// or, if any fails, each in its own.
func (f *FSM) applyKVRun(logs []*raft.Log, cmds []structs.Command, run []int, out []any) {
	switch len(run) {
	case 0:
		return
	case 1:
		out[run[0]] = f.applyOne(logs[run[0]].Index, &cmds[run[0]])
		return
	}
	tx := f.State().db.Txn(true)
	for _, i := range run {
		v, err := applyKV(tx, logs[i].Index, cmds[i].Type, cmds[i].KV)
		if err != nil {
			tx.Abort()
			f.logger.Debug("batched KV apply failed, applying one by one",
				"index", logs[i].Index, "error", err)
			for _, j := range run {
				out[j] = f.applyOne(logs[j].Index, &cmds[j])
			}
			return
		}
		out[i] = applyResult{Value: v}
	}
	tx.Commit()
}

func isKVCommand(t structs.CommandType) bool {
	switch t {
	case structs.KVSet, structs.KVCAS, structs.KVDelete, structs.KVDeleteCAS, structs.KVDeleteTree:
		return true
	}
	return false
}
