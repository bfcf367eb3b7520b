// Package raftstore owns minconsul's replicated state: the Raft node
// (hashicorp/raft with raft-boltdb/v2 logs and file snapshots, or in-memory
// stores under -dev), the FSM that applies structs.Command entries, and the
// go-memdb state store with its table indexes and watch channels.
//
// Everything else reads through Store's typed read methods (KVGet,
// ServiceNodes, ...) and writes through Store.Apply; no other package
// imports hashicorp/raft. Blocking queries and consistency modes live here
// too (Store.Query), because this package owns the watch channels.
package raftstore
