package backend

import (
	"context"

	"github.com/minconsul/minconsul/raftstore"
	"github.com/minconsul/minconsul/structs"
)

// HealthReader reads checks and instances with their health.
type HealthReader interface {
	NodeChecks(ctx context.Context, req *structs.NodeSpecificRequest) (*structs.Indexed[structs.HealthChecks], error)
	ServiceChecks(ctx context.Context, req *structs.ServiceSpecificRequest) (*structs.Indexed[structs.HealthChecks], error)
	ChecksInState(ctx context.Context, req *structs.ChecksInStateRequest) (*structs.Indexed[structs.HealthChecks], error)
	CheckServiceNodes(ctx context.Context, req *structs.ServiceSpecificRequest) (*structs.Indexed[structs.CheckServiceNodes], error)
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
