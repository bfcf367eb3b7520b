package backend

import (
	"context"

	"github.com/minconsul/minconsul/raftstore"
	"github.com/minconsul/minconsul/structs"
)

// SessionReader reads sessions (blocking queries on the sessions table).
type SessionReader interface {
	SessionInfo(ctx context.Context, req *structs.SessionRequest) (*structs.Indexed[structs.Sessions], error)
	SessionList(ctx context.Context, req *structs.DCSpecificRequest) (*structs.Indexed[structs.Sessions], error)
	NodeSessions(ctx context.Context, req *structs.NodeSpecificRequest) (*structs.Indexed[structs.Sessions], error)
}

func (b *Backend) SessionInfo(ctx context.Context, req *structs.SessionRequest) (*structs.Indexed[structs.Sessions], error) {
	return read(b, ctx, "SessionInfo", req, (*raftstore.StateStore).SessionInfo)
}

func (b *Backend) SessionList(ctx context.Context, req *structs.DCSpecificRequest) (*structs.Indexed[structs.Sessions], error) {
	return read(b, ctx, "SessionList", req, (*raftstore.StateStore).SessionList)
}

func (b *Backend) NodeSessions(ctx context.Context, req *structs.NodeSpecificRequest) (*structs.Indexed[structs.Sessions], error) {
	return read(b, ctx, "NodeSessions", req, (*raftstore.StateStore).NodeSessions)
}

// SessionRenewer restarts a TTL session's timer, which lives on the leader.
type SessionRenewer interface {
	// SessionRenew answers the renewed session, nil when it does not exist.
	SessionRenew(ctx context.Context, req *structs.SessionRequest) (*structs.Indexed[*structs.Session], error)
}

func (b *Backend) SessionRenew(ctx context.Context, req *structs.SessionRequest) (*structs.Indexed[*structs.Session], error) {
	return call(b, ctx, "SessionRenew", onLeader, req, func(ctx context.Context, st *raftstore.Store, req *structs.SessionRequest) (*structs.Session, error) {
		return st.SessionRenew(ctx, req)
	})
}

// TxnReader runs a transaction without writes as a read (with the
// request's consistency); one with writes is a TxnApply command.
type TxnReader interface {
	TxnRead(ctx context.Context, req *structs.TxnReadRequest) (*structs.Indexed[*structs.TxnResponse], error)
}

func (b *Backend) TxnRead(ctx context.Context, req *structs.TxnReadRequest) (*structs.Indexed[*structs.TxnResponse], error) {
	return read(b, ctx, "TxnRead", req, (*raftstore.StateStore).TxnRead)
}
