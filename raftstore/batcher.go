package raftstore

import (
	"errors"
	"time"

	"github.com/hashicorp/raft"

	"github.com/minconsul/minconsul/internal/groupcommit"
	"github.com/minconsul/minconsul/internal/telemetry"
	"github.com/minconsul/minconsul/structs"
)

// Group commit for KV writes.
//
// Raft writes every entry queued since its last disk write in one batch,
// but each entry still costs its own log record (a bolt key, its encoding,
// replication framing, a future), and while the leader is busy with one
// disk write the writers that arrive form many small batches. The store
// puts the KV commands of concurrent writers into one KVBatch entry
// instead. It keeps applySlots entries in flight in Raft (one: more slots
// were slower, on one node and on three, as each slot splits the waiting
// writers into smaller entries while the fsync cost per entry stays), and
// whatever queues up meanwhile goes out as the next entry (the figures
// behind these choices are in DESIGN.md). A lone writer
// is not delayed: an idle batcher submits its command at once, as a plain
// entry.
//
// The elements of a KVBatch apply in order at the entry's index, as the
// operations of one Consul transaction do.
const applySlots = 1

// kvOutcome is one batched KV command's index and FSM result.
type kvOutcome struct {
	idx uint64
	res applyResult
}

func newKVBatcher(r *raft.Raft, timeout time.Duration, met *telemetry.Metrics, stop <-chan struct{}) *groupcommit.Group[[]byte, kvOutcome] {
	size := func(b []byte) int { return len(b) }
	cfg := groupcommit.Config{Slots: applySlots, LingerGap: KVLingerGap, Linger: func(lastOps int) time.Duration {
		if lastOps < 2 || !replicated(r) {
			return 0
		}
		return KVLinger
	}}
	return groupcommit.New(cfg, size, func(bufs [][]byte) []groupcommit.Outcome[kvOutcome] {
		defer raftApplied(met, time.Now())
		return applyKVEntry(r, timeout, bufs, stop)
	})
}

// Lingering. With one entry in flight, concurrent writers split into two
// groups that take turns: the writers an entry answers come back while the
// next entry is already out, and wait for it. When an entry's round trip
// includes replication (a follower's disk write as well as the leader's),
// it lasts longer than the writers take to come back, and it pays to wait
// for them: after an entry that carried several writes, the next one
// waits up to KVLinger for more, as long as they keep arriving less than
// KVLingerGap apart (together with the same wait in a follower's
// forwarding; DESIGN.md has the figures). A lone writer never waits (its
// entries carry one write), and neither does a single server, whose
// entries come back faster than its writers (waiting there was slower).
const (
	KVLinger    = 2 * time.Millisecond
	KVLingerGap = 600 * time.Microsecond
)

// raftApplied records one Raft entry applied (Consul's consul.raft.apply
// counter) and how long its commit took (consul.raft.commitTime).
func raftApplied(met *telemetry.Metrics, start time.Time) {
	if met == nil {
		return
	}
	met.IncrCounter(keyRaftApply, 1)
	met.MeasureSince(keyRaftCommitTime, start)
}

var (
	keyRaftApply      = []string{"raft", "apply"}
	keyRaftCommitTime = []string{"raft", "commitTime"}
)

// replicated reports whether entries need another voter's disk write.
func replicated(r *raft.Raft) bool {
	voters, err := voterAddrs(r)
	return err == nil && len(voters) > 1
}

// applyKVEntry replicates encoded KV commands as one entry (a plain one
// for a single command) and waits for it to apply.
func applyKVEntry(r *raft.Raft, timeout time.Duration, bufs [][]byte, stop <-chan struct{}) []groupcommit.Outcome[kvOutcome] {
	out := make([]groupcommit.Outcome[kvOutcome], len(bufs))
	fail := func(err error) []groupcommit.Outcome[kvOutcome] {
		for i := range out {
			out[i].Err = err
		}
		return out
	}
	data := bufs[0]
	if len(bufs) > 1 {
		var err error
		if data, err = structs.Encode(&structs.Command{Type: structs.KVBatch, Batch: bufs}); err != nil {
			return fail(err)
		}
	}
	f := r.Apply(data, timeout)
	if err := futureError(f, stop); err != nil {
		return fail(mapRaftErr(err))
	}
	idx, resp := f.Index(), f.Response()
	if len(bufs) == 1 {
		res, _ := resp.(applyResult)
		out[0].Val = kvOutcome{idx: idx, res: res}
		return out
	}
	results, _ := resp.(BatchResult)
	if len(results) != len(bufs) {
		return fail(errors.New("raftstore: KV batch result missing"))
	}
	for i := range out {
		res, _ := results[i].(applyResult)
		out[i].Val = kvOutcome{idx: idx, res: res}
	}
	return out
}
