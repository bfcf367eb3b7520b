package backend

import (
	"bytes"
	"context"

	"github.com/minconsul/minconsul/raftstore"
	"github.com/minconsul/minconsul/structs"
)

// Status and operator calls run on the Raft store rather than the state
// store; call (backend.go) places them.

// StatusReader names the leader and the voters; every server knows them.
type StatusReader interface {
	Leader(ctx context.Context, req *structs.DCSpecificRequest) (*structs.Indexed[string], error)
	Peers(ctx context.Context, req *structs.DCSpecificRequest) (*structs.Indexed[[]string], error)
}

func (b *Backend) Leader(ctx context.Context, req *structs.DCSpecificRequest) (*structs.Indexed[string], error) {
	return call(b, ctx, "Leader", onAnyServer, req, func(_ context.Context, st *raftstore.Store, _ *structs.DCSpecificRequest) (string, error) {
		return st.Leader(), nil
	})
}

func (b *Backend) Peers(ctx context.Context, req *structs.DCSpecificRequest) (*structs.Indexed[[]string], error) {
	return call(b, ctx, "Peers", onAnyServer, req, func(_ context.Context, st *raftstore.Store, _ *structs.DCSpecificRequest) ([]string, error) {
		return st.Peers()
	})
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
	// RaftTransferLeader hands leadership to another voter.
	RaftTransferLeader(ctx context.Context, req *structs.RaftTransferLeaderRequest) (*structs.Indexed[struct{}], error)
}

func (b *Backend) SnapshotSave(ctx context.Context, req *structs.DCSpecificRequest) (*structs.Indexed[*structs.Snapshot], error) {
	return call(b, ctx, "SnapshotSave", byConsistency, req, func(ctx context.Context, st *raftstore.Store, req *structs.DCSpecificRequest) (*structs.Snapshot, error) {
		var buf bytes.Buffer
		meta, err := st.SaveSnapshot(ctx, &buf, req.Consistency == structs.ConsistencyStale)
		if err != nil {
			return nil, err
		}
		return &structs.Snapshot{Meta: *meta, Archive: buf.Bytes()}, nil
	})
}

func (b *Backend) SnapshotRestore(ctx context.Context, req *structs.SnapshotRestoreRequest) (*structs.Indexed[struct{}], error) {
	return call(b, ctx, "SnapshotRestore", onLeader, req, func(ctx context.Context, st *raftstore.Store, req *structs.SnapshotRestoreRequest) (struct{}, error) {
		return struct{}{}, st.RestoreSnapshot(ctx, bytes.NewReader(req.Archive))
	})
}

func (b *Backend) RaftConfiguration(ctx context.Context, req *structs.DCSpecificRequest) (*structs.Indexed[*structs.RaftConfigurationResponse], error) {
	return call(b, ctx, "RaftConfiguration", byConsistency, req, func(_ context.Context, st *raftstore.Store, _ *structs.DCSpecificRequest) (*structs.RaftConfigurationResponse, error) {
		return st.RaftConfiguration()
	})
}

func (b *Backend) RaftRemovePeer(ctx context.Context, req *structs.RaftRemovePeerRequest) (*structs.Indexed[struct{}], error) {
	return call(b, ctx, "RaftRemovePeer", onLeader, req, func(_ context.Context, st *raftstore.Store, req *structs.RaftRemovePeerRequest) (struct{}, error) {
		return struct{}{}, st.RemovePeer(req.ID, req.Address)
	})
}

func (b *Backend) RaftTransferLeader(ctx context.Context, req *structs.RaftTransferLeaderRequest) (*structs.Indexed[struct{}], error) {
	return call(b, ctx, "RaftTransferLeader", onLeader, req, func(_ context.Context, st *raftstore.Store, req *structs.RaftTransferLeaderRequest) (struct{}, error) {
		return struct{}{}, st.TransferLeader(req.ID)
	})
}
