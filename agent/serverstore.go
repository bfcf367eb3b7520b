package agent

import (
	"context"

	"github.com/minconsul/minconsul/raftstore"
	"github.com/minconsul/minconsul/structs"
)

// serverStore is a server's raftstore as its HTTP API sees it: reads stay
// local (the Forwarder already sent default/consistent reads to the
// leader), and a write runs its handler here and forwards only the encoded
// command to the leader over /rpc/apply when this server does not lead.
// A follower thus never proxies a whole KV write request: the leader
// decodes one small command instead of parsing and answering HTTP, and the
// reply carries the leader's index for X-Consul-Index. Every other method
// (snapshots, peer removal) is the raftstore's own.
type serverStore struct {
	*raftstore.Store
	backend *serverBackend
}

// Apply is serverBackend.Apply: local on the leader, else ApplyLeader with
// its bounded leader wait (then ErrNoLeader, answered as 500 "No cluster
// leader") and hop limit; remote errors come back as the same sentinels.
func (s serverStore) Apply(ctx context.Context, cmd structs.Command) (uint64, any, error) {
	return s.backend.Apply(ctx, cmd)
}
