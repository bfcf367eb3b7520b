package backend

import (
	"context"

	"github.com/minconsul/minconsul/raftstore"
	"github.com/minconsul/minconsul/structs"
)

// CoordinateReader reads the nodes' network coordinates.
type CoordinateReader interface {
	Coordinates(ctx context.Context, req *structs.DCSpecificRequest) (*structs.Indexed[structs.Coordinates], error)
	NodeCoordinate(ctx context.Context, req *structs.NodeSpecificRequest) (*structs.Indexed[structs.Coordinates], error)
}

func (b *Backend) Coordinates(ctx context.Context, req *structs.DCSpecificRequest) (*structs.Indexed[structs.Coordinates], error) {
	return read(b, ctx, "Coordinates", req, (*raftstore.StateStore).Coordinates)
}

func (b *Backend) NodeCoordinate(ctx context.Context, req *structs.NodeSpecificRequest) (*structs.Indexed[structs.Coordinates], error) {
	return read(b, ctx, "NodeCoordinate", req, (*raftstore.StateStore).NodeCoordinate)
}
