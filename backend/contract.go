package backend

import (
	"context"

	"github.com/minconsul/minconsul/structs"
)

// The contract. Every read takes a typed request embedding
// structs.QueryOptions (index, wait, consistency) and answers the value
// with its structs.QueryMeta; consumers embed the pieces they call.

// KVReader reads the KV store.
type KVReader interface {
	KVGet(ctx context.Context, req *structs.KeyRequest) (*structs.Indexed[*structs.DirEntry], error)
	KVList(ctx context.Context, req *structs.KeyRequest) (*structs.Indexed[structs.DirEntries], error)
	KVKeys(ctx context.Context, req *structs.KeyListRequest) (*structs.Indexed[[]string], error)
}

// CatalogReader reads nodes and services.
type CatalogReader interface {
	Nodes(ctx context.Context, req *structs.DCSpecificRequest) (*structs.Indexed[structs.Nodes], error)
	GetNode(ctx context.Context, req *structs.NodeSpecificRequest) (*structs.Indexed[*structs.Node], error)
	Services(ctx context.Context, req *structs.DCSpecificRequest) (*structs.Indexed[map[string][]string], error)
	ServiceNodes(ctx context.Context, req *structs.ServiceSpecificRequest) (*structs.Indexed[structs.ServiceNodes], error)
	NodeServices(ctx context.Context, req *structs.NodeSpecificRequest) (*structs.Indexed[*structs.NodeServices], error)
}

// HealthReader reads checks and instances with their health.
type HealthReader interface {
	NodeChecks(ctx context.Context, req *structs.NodeSpecificRequest) (*structs.Indexed[structs.HealthChecks], error)
	ServiceChecks(ctx context.Context, req *structs.ServiceSpecificRequest) (*structs.Indexed[structs.HealthChecks], error)
	ChecksInState(ctx context.Context, req *structs.ChecksInStateRequest) (*structs.Indexed[structs.HealthChecks], error)
	CheckServiceNodes(ctx context.Context, req *structs.ServiceSpecificRequest) (*structs.Indexed[structs.CheckServiceNodes], error)
}

// StatusReader names the leader and the voters; every server knows them.
type StatusReader interface {
	Leader(ctx context.Context, req *structs.DCSpecificRequest) (*structs.Indexed[string], error)
	Peers(ctx context.Context, req *structs.DCSpecificRequest) (*structs.Indexed[[]string], error)
}

// Reader is every read.
type Reader interface {
	KVReader
	CatalogReader
	HealthReader
	StatusReader
}

// Writer replicates a command through the leader and answers its index and
// result (KV writes: a bool, false when a CAS check failed).
type Writer interface {
	Apply(ctx context.Context, cmd structs.Command) (uint64, any, error)
}

// Operator backs up and restores the state and manages the Raft peers.
type Operator interface {
	// SnapshotSave answers a backup archive: from the leader, or with
	// ?stale from whichever server answers.
	SnapshotSave(ctx context.Context, req *structs.DCSpecificRequest) (*structs.Indexed[*structs.Snapshot], error)
	// SnapshotRestore replaces the cluster's state with an archive.
	SnapshotRestore(ctx context.Context, req *structs.SnapshotRestoreRequest) (*structs.Indexed[struct{}], error)
	RaftConfiguration(ctx context.Context, req *structs.DCSpecificRequest) (*structs.Indexed[*structs.RaftConfigurationResponse], error)
	RaftRemovePeer(ctx context.Context, req *structs.RaftRemovePeerRequest) (*structs.Indexed[struct{}], error)
}

// Contract is all of it: what an HTTP API serves.
type Contract interface {
	Reader
	Writer
	Operator
}
