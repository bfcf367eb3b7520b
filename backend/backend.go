package backend

import (
	"context"
	"errors"
	"math/rand/v2"
	"reflect"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-memdb"
	"github.com/minconsul/minconsul/internal/groupcommit"
	"github.com/minconsul/minconsul/internal/rpc"
	"github.com/minconsul/minconsul/internal/telemetry"
	"github.com/minconsul/minconsul/raftstore"
	"github.com/minconsul/minconsul/structs"
)

// Config says what kind of agent the backend serves.
type Config struct {
	// Store is this server's Raft store; nil on a client agent, which
	// holds no state and sends everything to a server.
	Store *raftstore.Store
	// Client calls other servers; nil on a lone -dev server, which never
	// forwards.
	Client *rpc.Client
	// Servers lists the alive servers' server-port addresses (from gossip):
	// where a client agent sends its requests.
	Servers func() []string
	// LeaderWait bounds how long a forward waits for a leader to appear
	// (or for a dead leader to be replaced) before ErrNoLeader; 7 s.
	LeaderWait time.Duration
	Logger     hclog.Logger
	// Metrics records writes (consul.kvs.apply, consul.catalog.register,
	// ...), calls served for other agents (consul.rpc.request) and calls
	// sent (consul.client.rpc); nil records nothing.
	Metrics *telemetry.Metrics
}

// Backend implements the contract for one agent and decides where each
// request runs (see the package doc).
type Backend struct {
	store      *raftstore.Store
	client     *rpc.Client
	servers    func() []string
	leaderWait time.Duration
	logger     hclog.Logger
	metrics    *telemetry.Metrics

	// batch forwards a follower's concurrent KV writes to the leader
	// together (forward.go); nil where nothing is forwarded to a leader.
	batch *groupcommit.Group[fwdWrite, applied]
	// methods are the contract's calls other servers may make, by name.
	methods map[string]reflect.Method

	ctx    context.Context // ends with Close: cancels forwarded batches
	cancel context.CancelFunc
}

// New builds the backend; Close stops its forwarding.
func New(cfg Config) *Backend {
	if cfg.Logger == nil {
		cfg.Logger = hclog.NewNullLogger()
	}
	if cfg.LeaderWait <= 0 {
		cfg.LeaderWait = 7 * time.Second
	}
	if cfg.Servers == nil {
		cfg.Servers = func() []string { return nil }
	}
	b := &Backend{store: cfg.Store, client: cfg.Client, servers: cfg.Servers, leaderWait: cfg.LeaderWait, logger: cfg.Logger,
		metrics: cfg.Metrics}
	b.ctx, b.cancel = context.WithCancel(context.Background())
	b.methods = contractMethods()
	if b.store != nil && b.client != nil {
		b.batch = b.newBatch()
	}
	return b
}

// Close stops forwarding (queued writes answer ErrShutdown) and waits for
// batches in flight.
func (b *Backend) Close() {
	b.cancel()
	if b.batch != nil {
		b.batch.Close()
	}
}

// maxHops is how many servers a request may pass through before it runs
// where it is: a client agent's request reaches the leader in two (client
// -> server -> leader); a leader change on the way runs it on the server it
// reached, which answers ErrNotLeader rather than forward again.
const maxHops = 2

type hopsKey struct{}

// hops is how many servers the request in ctx has passed through: 0 for
// one that arrived here over HTTP or DNS.
func hops(ctx context.Context) int {
	n, _ := ctx.Value(hopsKey{}).(int)
	return n
}

func withHops(ctx context.Context, n int) context.Context {
	return context.WithValue(ctx, hopsKey{}, n)
}

// placement is where a request belongs.
type placement uint8

const (
	onLeader      placement = iota // writes, restores, peer removal
	byConsistency                  // reads: any server with ?stale, else the leader
	onAnyServer                    // status: every server knows it
)

// runsHere decides whether a request with placement p and consistency c
// runs on this agent or is forwarded.
func (b *Backend) runsHere(ctx context.Context, p placement, c structs.Consistency) bool {
	switch {
	case b.store == nil:
		return false // a client agent has nothing to run it on
	case b.client == nil || p == onAnyServer || hops(ctx) >= maxHops:
		return true
	case p == byConsistency && c == structs.ConsistencyStale:
		return true
	}
	return b.store.IsLeader()
}

// read runs a read of the state store where it belongs: here as a
// blocking query (raftstore.Store.Query: consistency, index, wait, watch),
// or on another server as the same request, named method.
func read[Q structs.QueryRequest, T any](b *Backend, ctx context.Context, method string, req Q,
	fn func(*raftstore.StateStore, memdb.WatchSet, Q) (uint64, T, error)) (*structs.Indexed[T], error) {
	out := new(structs.Indexed[T])
	opts := req.QueryOpts()
	if !b.runsHere(ctx, byConsistency, opts.Consistency) {
		if err := b.forwardRead(ctx, method, opts, req, out); err != nil {
			return nil, err
		}
		return out, nil
	}
	st := b.store
	err := st.Query(ctx, *opts, &out.QueryMeta, func(ws memdb.WatchSet) (uint64, error) {
		idx, v, err := fn(st.State(), ws, req)
		out.Value = v
		return idx, err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// call runs a status or operator call where p places it.
func call[Q structs.QueryRequest, T any](b *Backend, ctx context.Context, method string, p placement, req Q,
	fn func(context.Context, *raftstore.Store, Q) (T, error)) (*structs.Indexed[T], error) {
	out := new(structs.Indexed[T])
	if !b.runsHere(ctx, p, req.QueryOpts().Consistency) {
		if err := b.forward(ctx, method, hops(ctx)+1, p != onLeader, req, out); err != nil {
			return nil, err
		}
		return out, nil
	}
	v, err := fn(ctx, b.store, req)
	if err != nil {
		return nil, err
	}
	out.Value = v
	b.store.FillMeta(&out.QueryMeta)
	return out, nil
}

// Apply replicates cmd: on the leader (or a lone server) through its own
// store and group commit; from a follower, a KV write joins the batch
// forwarded to the leader and any other command goes alone; from a client
// agent, through any server.
func (b *Backend) Apply(ctx context.Context, cmd structs.Command) (uint64, any, error) {
	if key := applyKey(cmd.Type); key != nil && b.metrics != nil {
		defer b.metrics.MeasureSince(key, time.Now())
	}
	hop := hops(ctx)
	final := b.client == nil || hop >= maxHops
	if b.store != nil && (final || b.store.IsLeader()) {
		idx, res, err := b.store.Apply(ctx, cmd)
		if final || !errors.Is(err, structs.ErrNotLeader) {
			return idx, res, err
		}
	}
	// Without a known leader a write waits on its own (bounded by the
	// leader wait), not behind batches that wait for the same leader.
	if b.batch != nil && cmd.Type.IsKV() && b.store.Leader() != "" {
		o, err := b.batch.Do(fwdWrite{cmd: cmd, hop: hop})
		if errors.Is(err, groupcommit.ErrClosed) {
			err = structs.ErrShutdown
		}
		return o.idx, o.val, err
	}
	return b.applyRemote(ctx, cmd, hop+1)
}

// leaderAddr is where a server forwards: the leader's server port.
func (b *Backend) leaderAddr() string { return b.store.Leader() }

// anyServer is where a client agent sends: one alive server at random.
func (b *Backend) anyServer() string {
	addrs := b.servers()
	if len(addrs) == 0 {
		return ""
	}
	return addrs[rand.IntN(len(addrs))]
}

// PeersAt asks the server at addr for its Raft voters (bootstrap-expect:
// has that server already joined a cluster?). The call is not forwarded.
func (b *Backend) PeersAt(ctx context.Context, addr string) ([]string, error) {
	if b.client == nil {
		return nil, errors.New("this agent does not cluster")
	}
	var out structs.Indexed[[]string]
	req := &structs.DCSpecificRequest{QueryOptions: structs.QueryOptions{Consistency: structs.ConsistencyStale}}
	if err := b.client.Call(ctx, addr, "Peers", maxHops, true, req, &out); err != nil {
		return nil, err
	}
	return out.Value, nil
}
