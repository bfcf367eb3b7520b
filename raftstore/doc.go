// Package raftstore owns minconsul's replicated state: the Raft node
// (hashicorp/raft with raft-boltdb/v2 logs and file snapshots, or in-memory
// stores under -dev), the FSM that applies structs.Command entries, and the
// go-memdb state store with its table indexes and watch channels.
//
// Reads are StateStore functions shaped func(ws, *typed request) (index,
// value, error); package backend binds each one into the read contract and
// runs it through Store.Query, which owns blocking queries and consistency
// modes because this package owns the watch channels. Writes go through
// Store.Apply (with the KV group commit, batcher.go). Only this package
// imports hashicorp/raft.
//
// Sessions, locks and transactions (sessions.go, txn.go) are FSM state like
// the rest; the leader alone runs session TTL timers (timers.go), armed
// from the replicated state whenever it gains leadership, and checks the
// per-server lock delay before proposing an acquire.
package raftstore
