package agent

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/minconsul/minconsul/internal/groupcommit"
	"github.com/minconsul/minconsul/raftstore"
	"github.com/minconsul/minconsul/structs"
)

// A follower forwards the KV writes its clients make concurrently to the
// leader together: while one /rpc/apply is in flight, the writes that
// arrive queue up and go out as one KVBatch command, whose elements join
// the leader's own group commit (raftstore/batcher.go) and come back with
// one outcome each. Under many clients this saves the leader most of its
// per-request HTTP work; a lone write goes out at once, as before.
//
// Up to forwardSlots batches may wait at the leader: with one, a batch
// that arrives while the leader's entry is in flight waits for it, and the
// follower's next batch waits for that one, so the follower's writes fell
// a whole leader round behind (measured on 3 nodes, 16 clients: about 15%
// fewer writes than with 4).
const (
	forwardSlots = 4
	// forwardTimeout bounds one forwarded batch: the leader wait and the
	// leader's own apply timeout, with room to spare.
	forwardTimeout = 30 * time.Second
)

// forwarded is one forwarded write's index and result.
type forwarded struct {
	idx uint64
	val any
}

func (a *Agent) newForwardGroup() *groupcommit.Group[structs.Command, forwarded] {
	size := func(c structs.Command) int {
		if c.KV == nil {
			return 64
		}
		return 64 + len(c.KV.Key) + len(c.KV.Value)
	}
	// A batch waits for more writes as the leader's does (see
	// raftstore.KVLinger): after a batch of several, the writers it
	// answered come back together.
	cfg := groupcommit.Config{Slots: forwardSlots, LingerGap: raftstore.KVLingerGap,
		Linger: func(lastOps int) time.Duration {
			if lastOps < 2 {
				return 0
			}
			return raftstore.KVLinger
		}}
	return groupcommit.New(cfg, size, a.forwardKV)
}

// forwardKV sends cmds to the leader in one RPC.
func (a *Agent) forwardKV(cmds []structs.Command) []groupcommit.Outcome[forwarded] {
	ctx, cancel := context.WithTimeout(a.ctx, forwardTimeout)
	defer cancel()
	out := make([]groupcommit.Outcome[forwarded], len(cmds))
	fail := func(err error) []groupcommit.Outcome[forwarded] {
		for i := range out {
			out[i].Err = err
		}
		return out
	}
	if len(cmds) == 1 {
		idx, res, err := a.rpcClient.ApplyLeader(ctx, a.store.Leader, cmds[0], 1)
		out[0] = groupcommit.Outcome[forwarded]{Val: forwarded{idx: idx, val: res}, Err: err}
		return out
	}
	batch := structs.Command{Type: structs.KVBatch, Batch: make([][]byte, len(cmds))}
	for i := range cmds {
		b, err := structs.Encode(&cmds[i])
		if err != nil {
			return fail(fmt.Errorf("encode %s: %w", cmds[i].Type, err))
		}
		batch.Batch[i] = b
	}
	_, res, err := a.rpcClient.ApplyLeader(ctx, a.store.Leader, batch, 1)
	if err != nil {
		return fail(err)
	}
	outs, ok := res.([]structs.BatchOutcome)
	if !ok || len(outs) != len(cmds) {
		return fail(errors.New("forward: malformed batch answer"))
	}
	for i, o := range outs {
		out[i] = groupcommit.Outcome[forwarded]{Val: forwarded{idx: o.Index, val: o.Value}, Err: o.Err}
	}
	return out
}
