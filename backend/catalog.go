package backend

import (
	"context"

	"github.com/minconsul/minconsul/raftstore"
	"github.com/minconsul/minconsul/structs"
)

// CatalogReader reads nodes and services.
type CatalogReader interface {
	Nodes(ctx context.Context, req *structs.DCSpecificRequest) (*structs.Indexed[structs.Nodes], error)
	GetNode(ctx context.Context, req *structs.NodeSpecificRequest) (*structs.Indexed[*structs.Node], error)
	Services(ctx context.Context, req *structs.DCSpecificRequest) (*structs.Indexed[map[string][]string], error)
	ServiceNodes(ctx context.Context, req *structs.ServiceSpecificRequest) (*structs.Indexed[structs.ServiceNodes], error)
	AllServiceNodes(ctx context.Context, req *structs.DCSpecificRequest) (*structs.Indexed[structs.ServiceNodes], error)
	NodeServices(ctx context.Context, req *structs.NodeSpecificRequest) (*structs.Indexed[*structs.NodeServices], error)
	ServiceUsage(ctx context.Context, req *structs.DCSpecificRequest) (*structs.Indexed[*structs.ServiceUsage], error)
	NodeDump(ctx context.Context, req *structs.DCSpecificRequest) (*structs.Indexed[structs.NodeDump], error)
	NodeInfo(ctx context.Context, req *structs.NodeSpecificRequest) (*structs.Indexed[*structs.NodeInfo], error)
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

func (b *Backend) AllServiceNodes(ctx context.Context, req *structs.DCSpecificRequest) (*structs.Indexed[structs.ServiceNodes], error) {
	return read(b, ctx, "AllServiceNodes", req, (*raftstore.StateStore).AllServiceNodes)
}

func (b *Backend) NodeServices(ctx context.Context, req *structs.NodeSpecificRequest) (*structs.Indexed[*structs.NodeServices], error) {
	return read(b, ctx, "NodeServices", req, (*raftstore.StateStore).NodeServices)
}

func (b *Backend) ServiceUsage(ctx context.Context, req *structs.DCSpecificRequest) (*structs.Indexed[*structs.ServiceUsage], error) {
	return read(b, ctx, "ServiceUsage", req, (*raftstore.StateStore).ServiceUsage)
}

func (b *Backend) NodeDump(ctx context.Context, req *structs.DCSpecificRequest) (*structs.Indexed[structs.NodeDump], error) {
	return read(b, ctx, "NodeDump", req, (*raftstore.StateStore).NodeDump)
}

func (b *Backend) NodeInfo(ctx context.Context, req *structs.NodeSpecificRequest) (*structs.Indexed[*structs.NodeInfo], error) {
	return read(b, ctx, "NodeInfo", req, (*raftstore.StateStore).NodeInfo)
}
