package structs

import "time"

// Typed requests and answers of the read contract (package backend). Each
// request embeds QueryOptions, so it can block and choose its consistency
// on whichever server answers it; each answer is an Indexed value carrying
// the QueryMeta that becomes X-Consul-Index and its siblings. They travel
// as they are (msgpack) when a read is forwarded to another server.

// QueryRequest is what every read request is: it carries QueryOptions.
type QueryRequest interface {
	QueryOpts() *QueryOptions
}

// QueryOpts gives every request embedding QueryOptions the QueryRequest
// method.
func (o *QueryOptions) QueryOpts() *QueryOptions { return o }

// Indexed is a read's answer: the value and the metadata of the state it
// was read from.
type Indexed[T any] struct {
	Value T
	QueryMeta
}

// KeyRequest names one KV key (or, for a list, a prefix).
type KeyRequest struct {
	Key string
	QueryOptions
}

// KeyListRequest lists the keys under Prefix, rolled up at Separator.
type KeyListRequest struct {
	Prefix    string
	Separator string
	QueryOptions
}

// DCSpecificRequest is a datacenter-wide read (all nodes, all services,
// the Raft peers, a snapshot); NodeMetaFilters keeps only nodes whose
// meta holds every pair (?node-meta=key:value).
type DCSpecificRequest struct {
	NodeMetaFilters map[string]string
	QueryOptions
}

// NodeSpecificRequest names one node.
type NodeSpecificRequest struct {
	Node string
	QueryOptions
}

// ServiceSpecificRequest names one service, optionally narrowed to
// instances with every tag in ServiceTags and to nodes matching
// NodeMetaFilters.
type ServiceSpecificRequest struct {
	ServiceName     string
	ServiceTags     []string
	NodeMetaFilters map[string]string
	QueryOptions
}

// ChecksInStateRequest lists the checks in one state ("any" for all).
type ChecksInStateRequest struct {
	State           string
	NodeMetaFilters map[string]string
	QueryOptions
}

// SnapshotRestoreRequest carries a backup archive to restore; it runs on
// the leader.
type SnapshotRestoreRequest struct {
	Archive []byte
	QueryOptions
}

// RaftRemovePeerRequest removes one Raft server by ID or by address; it
// runs on the leader.
type RaftRemovePeerRequest struct {
	ID      string
	Address string
	QueryOptions
}

// RaftTransferLeaderRequest hands leadership to the server with ID (any
// other voter when empty); it runs on the leader.
type RaftTransferLeaderRequest struct {
	ID string
	QueryOptions
}

// SnapshotMeta describes a backup archive (GET /v1/snapshot; shown by
// `minconsul snapshot inspect`).
type SnapshotMeta struct {
	ID      string
	Size    int64
	Index   uint64
	Term    uint64
	Version int
	Created time.Time
}

// Snapshot is a backup archive (a gzipped tar of meta.json, state.bin and
// SHA256SUMS) and its meta.
type Snapshot struct {
	Meta    SnapshotMeta
	Archive []byte
}
