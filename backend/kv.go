package backend

import (
	"context"

	"github.com/minconsul/minconsul/raftstore"
	"github.com/minconsul/minconsul/structs"
)

// KVReader reads the KV store.
type KVReader interface {
	KVGet(ctx context.Context, req *structs.KeyRequest) (*structs.Indexed[*structs.DirEntry], error)
	KVList(ctx context.Context, req *structs.KeyRequest) (*structs.Indexed[structs.DirEntries], error)
	KVKeys(ctx context.Context, req *structs.KeyListRequest) (*structs.Indexed[[]string], error)
}

func (b *Backend) KVGet(ctx context.Context, req *structs.KeyRequest) (*structs.Indexed[*structs.DirEntry], error) {
	return read(b, ctx, "KVGet", req, (*raftstore.StateStore).KVGet)
}

func (b *Backend) KVList(ctx context.Context, req *structs.KeyRequest) (*structs.Indexed[structs.DirEntries], error) {
	return read(b, ctx, "KVList", req, (*raftstore.StateStore).KVList)
}

func (b *Backend) KVKeys(ctx context.Context, req *structs.KeyListRequest) (*structs.Indexed[[]string], error) {
	return read(b, ctx, "KVKeys", req, (*raftstore.StateStore).KVKeys)
}
