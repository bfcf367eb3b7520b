package backend

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/minconsul/minconsul/internal/groupcommit"
	"github.com/minconsul/minconsul/internal/rpc"
	"github.com/minconsul/minconsul/raftstore"
	"github.com/minconsul/minconsul/structs"
)

// forward sends a call to the leader (from a server) or to any server
// (from a client agent) as having passed hop servers; read says it changes
// nothing, so it may be sent again. A call that could
// not be delivered — no target known, or the dial failed — is tried again
// while the leader wait lasts (an election, a dead leader being replaced);
// one that was delivered is answered, also when the answer is an error.
func (b *Backend) forward(ctx context.Context, method string, hop int, read bool, args, reply any) error {
	if b.client == nil {
		return structs.ErrNoLeader
	}
	pick := b.anyServer
	if b.store != nil {
		pick = b.leaderAddr
	}
	deadline := time.Now().Add(b.leaderWait)
	for {
		var err error = structs.ErrNoLeader
		addr := pick()
		if addr == "" && b.store == nil {
			// A client agent that knows no server answers at once, as
			// Consul's does: no election is coming to wait out.
			return structs.ErrNoServers
		}
		if addr != "" {
			b.metrics.IncrCounter(keyClientRPC, 1)
			err = b.client.Call(ctx, addr, method, hop, read, args, reply)
		}
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			// The client went away, or this agent is shutting down.
			return ctx.Err()
		}
		if !undelivered(err) {
			return err
		}
		if time.Now().After(deadline) {
			b.logger.Debug("forward failed", "method", method, "target", addr, "error", err)
			return structs.ErrNoLeader
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond): // wait out an election
		}
	}
}

// undelivered reports a call that never ran anywhere: safe to send again.
func undelivered(err error) bool {
	var de *rpc.DialError
	return errors.As(err, &de) || errors.Is(err, structs.ErrNoLeader)
}

// clientReadTimeout bounds a client agent's read that does not block and
// whose caller set no deadline (DNS): it answers at once wherever it runs,
// so one taking longer is stuck behind an unresponsive server. A server
// forwards such reads without a bound of its own, as it does blocking
// ones: the leader wait and the caller's context bound them.
const clientReadTimeout = 10 * time.Second

func (b *Backend) forwardRead(ctx context.Context, method string, opts *structs.QueryOptions, req, reply any) error {
	if _, ok := ctx.Deadline(); !ok && opts.MinIndex == 0 && b.store == nil {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, clientReadTimeout)
		defer cancel()
	}
	return b.forward(ctx, method, hops(ctx)+1, true, req, reply)
}

// applyRemote sends a command to be applied by the leader.
func (b *Backend) applyRemote(ctx context.Context, cmd structs.Command, hop int) (uint64, any, error) {
	var out applyResponse
	if err := b.forward(ctx, applyMethod, hop, false, &cmd, &out); err != nil {
		return 0, nil, err
	}
	return out.result(cmd)
}

// A follower forwards the KV writes its clients make concurrently to the
// leader together: while one Apply call is in flight, the writes that
// arrive queue up and go out as one KVBatch command, whose elements join
// the leader's own group commit (raftstore/batcher.go) and come back with
// one outcome each. Under many clients this saves the leader most of its
// per-request work; a lone write goes out at once, as a plain command.
//
// Up to forwardSlots batches may wait at the leader: with one, a batch
// that arrives while the leader's entry is in flight waits for it, and the
// follower's next batch waits for that one, so the follower's writes fall
// a whole leader round behind (DESIGN.md has the figures).
const (
	forwardSlots = 4
	// forwardTimeout bounds one forwarded batch: the leader wait and the
	// leader's own apply timeout, with room to spare.
	forwardTimeout = 30 * time.Second
)

// fwdWrite is one queued KV write and how many servers it passed through.
type fwdWrite struct {
	cmd structs.Command
	hop int
}

// applied is one forwarded write's index and result.
type applied struct {
	idx uint64
	val any
}

func (b *Backend) newBatch() *groupcommit.Group[fwdWrite, applied] {
	size := func(w fwdWrite) int {
		if w.cmd.KV == nil {
			return 64
		}
		return 64 + len(w.cmd.KV.Key) + len(w.cmd.KV.Value)
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
	return groupcommit.New(cfg, size, b.forwardKV)
}

// forwardKV sends writes to the leader in one call. The batch counts as
// having passed as many servers as the most travelled write in it.
func (b *Backend) forwardKV(ws []fwdWrite) []groupcommit.Outcome[applied] {
	ctx, cancel := context.WithTimeout(b.ctx, forwardTimeout)
	defer cancel()
	out := make([]groupcommit.Outcome[applied], len(ws))
	fail := func(err error) []groupcommit.Outcome[applied] {
		for i := range out {
			out[i].Err = err
		}
		return out
	}
	hop := 0
	for _, w := range ws {
		hop = max(hop, w.hop)
	}
	if len(ws) == 1 {
		idx, res, err := b.applyRemote(ctx, ws[0].cmd, hop+1)
		out[0] = groupcommit.Outcome[applied]{Val: applied{idx: idx, val: res}, Err: err}
		return out
	}
	batch := structs.Command{Type: structs.KVBatch, Batch: make([][]byte, len(ws))}
	for i := range ws {
		enc, err := structs.Encode(&ws[i].cmd)
		if err != nil {
			return fail(fmt.Errorf("encode %s: %w", ws[i].cmd.Type, err))
		}
		batch.Batch[i] = enc
	}
	_, res, err := b.applyRemote(ctx, batch, hop+1)
	if err != nil {
		return fail(err)
	}
	outs, ok := res.([]structs.BatchOutcome)
	if !ok || len(outs) != len(ws) {
		return fail(errors.New("forward: malformed batch answer"))
	}
	for i, o := range outs {
		out[i] = groupcommit.Outcome[applied]{Val: applied{idx: o.Index, val: o.Value}, Err: o.Err}
	}
	return out
}
