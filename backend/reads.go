package backend

import (
	"bytes"
	"context"

	"github.com/minconsul/minconsul/raftstore"
	"github.com/minconsul/minconsul/structs"
)

// Each read of the contract, bound to the state-store function that
// answers it; read (route.go) decides where it runs and, there, runs it
// as a blocking query. Adding a read is a state-store function, its line
// in contract.go and here, and an HTTP handler. The method name is what
// the read is called on another server (dispatch.go).

func (b *Backend) KVGet(ctx context.Context, req *structs.KeyRequest) (*structs.Indexed[*structs.DirEntry], error) {
	return read(b, ctx, "KVGet", req, (*raftstore.StateStore).KVGet)
}

func (b *Backend) KVList(ctx context.Context, req *structs.KeyRequest) (*structs.Indexed[structs.DirEntries], error) {
	return read(b, ctx, "KVList", req, (*raftstore.StateStore).KVList)
}

func (b *Backend) KVKeys(ctx context.Context, req *structs.KeyListRequest) (*structs.Indexed[[]string], error) {
	return read(b, ctx, "KVKeys", req, (*raftstore.StateStore).KVKeys)
}

func (b *Backend) Nodes(ctx context.Context, req *structs.DCSpecificRequest) (*structs.Indexed[structs.Nodes], error) {
	return read(b, ctx, "Nodes", req, (*raftstore.StateStore).Nodes)
}

func (b *Backend) GetNode(ctx context.Context, req *structs.NodeSpecificRequest) (*structs.Indexed[*structs.Node], error) {
	return read(b, ctx, "GetNode", req, (*raftstore.StateStore).GetNode)
}

func (b *Backend) Services(ctx context.Context, req *structs.DCSpecificRequest) (*structs.Indexed[map[string][]string], error) {
	return read(b, ctx, "Services", req, (*raftstore.StateStore).Services)
}

func (b *Backend) ServiceNodes(ctx context.Context, req *structs.ServiceSpecificRequest) (*structs.Indexed[structs.ServiceNodes], error) {
	return read(b, ctx, "ServiceNodes", req, (*raftstore.StateStore).ServiceNodes)
}

func (b *Backend) NodeServices(ctx context.Context, req *structs.NodeSpecificRequest) (*structs.Indexed[*structs.NodeServices], error) {
	return read(b, ctx, "NodeServices", req, (*raftstore.StateStore).NodeServices)
}

func (b *Backend) NodeChecks(ctx context.Context, req *structs.NodeSpecificRequest) (*structs.Indexed[structs.HealthChecks], error) {
	return read(b, ctx, "NodeChecks", req, (*raftstore.StateStore).NodeChecks)
}

func (b *Backend) ServiceChecks(ctx context.Context, req *structs.ServiceSpecificRequest) (*structs.Indexed[structs.HealthChecks], error) {
	return read(b, ctx, "ServiceChecks", req, (*raftstore.StateStore).ServiceChecks)
}

func (b *Backend) ChecksInState(ctx context.Context, req *structs.ChecksInStateRequest) (*structs.Indexed[structs.HealthChecks], error) {
	return read(b, ctx, "ChecksInState", req, (*raftstore.StateStore).ChecksInState)
}

func (b *Backend) CheckServiceNodes(ctx context.Context, req *structs.ServiceSpecificRequest) (*structs.Indexed[structs.CheckServiceNodes], error) {
	return read(b, ctx, "CheckServiceNodes", req, (*raftstore.StateStore).CheckServiceNodes)
}

// Status and operator calls run on the Raft store rather than the state
// store; call (route.go) places them.

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
