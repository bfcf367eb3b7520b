package backend

import (
	"context"

	"github.com/minconsul/minconsul/structs"
)

// The contract, declared once. Every read takes a typed request embedding
// structs.QueryOptions (index, wait, consistency, filter) and answers its
// value with the structs.QueryMeta of the state it was read from. Each
// area declares its piece next to the one-line bindings that implement it
// (kv.go, catalog.go, health.go, operator.go): a binding names the
// raftstore state-store function that answers the read, and read
// (backend.go) decides where it runs and, there, runs it as a blocking
// query. Adding a read is a state-store function, its two lines in the
// area's file, and an HTTP handler. The method name is also what the read
// is called on another server (dispatch.go). Consumers embed the pieces
// they call.

// Reader is every read.
type Reader interface {
	KVReader
	CatalogReader
	HealthReader
	StatusReader
	SessionReader
	TxnReader
	CoordinateReader
}

// Writer replicates a command through the leader and answers its index and
// result (KV writes: a bool, false when a CAS check failed).
type Writer interface {
	Apply(ctx context.Context, cmd structs.Command) (uint64, any, error)
}

// Contract is all of it: what an HTTP API serves.
type Contract interface {
	Reader
	Writer
	Operator
	SessionRenewer
}
