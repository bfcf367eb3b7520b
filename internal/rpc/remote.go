package rpc

import (
	"context"
	"time"

	"github.com/hashicorp/go-memdb"
	"github.com/minconsul/minconsul/structs"
)

// Remote is the state a client agent sees: every read goes to a server
// (stale: clients hold no state and DNS wants it fast), every write to the
// leader through a server. It satisfies the read/write interfaces of
// httpapi, dnsserver and agent's catalog sync.
type Remote struct {
	client  *Client
	servers func() []string
	timeout time.Duration
}

// NewRemote reads from the servers servers() lists.
func NewRemote(client *Client, servers func() []string) *Remote {
	return &Remote{client: client, servers: servers, timeout: 10 * time.Second}
}

func (r *Remote) pick() string { return randomOf(r.servers()) }

// Apply sends a write to the leader via any server.
func (r *Remote) Apply(ctx context.Context, cmd structs.Command) (uint64, any, error) {
	return r.client.ApplyLeader(ctx, r.pick, cmd, 1)
}

// Query runs fn once: a client's reads are one-shot RPCs (blocking and
// consistent queries from HTTP clients are forwarded whole instead).
func (r *Remote) Query(ctx context.Context, opts structs.QueryOptions, meta *structs.QueryMeta, fn func(ws memdb.WatchSet) (uint64, error)) error {
	idx, err := fn(nil)
	meta.Index = max(idx, 1)
	meta.KnownLeader = err == nil
	return err
}

func (r *Remote) read(method string, out any, args ...string) (uint64, error) {
	ctx, cancel := context.WithTimeout(context.Background(), r.timeout)
	defer cancel()
	var lastErr error = structs.ErrNoLeader
	for attempt := 0; attempt < 3; attempt++ {
		addr := r.pick()
		if addr == "" {
			break
		}
		meta, err := r.client.Read(ctx, addr, ReadRequest{Method: method, Args: args,
			Opts: structs.QueryOptions{Consistency: structs.ConsistencyStale}}, out)
		if err == nil || !retryable(err) {
			return meta.Index, err
		}
		lastErr = err
	}
	return 0, lastErr
}

func (r *Remote) KVGet(_ memdb.WatchSet, key string) (uint64, *structs.DirEntry, error) {
	var out *structs.DirEntry
	idx, err := r.read("KVGet", &out, key)
	return idx, out, err
}

func (r *Remote) KVList(_ memdb.WatchSet, prefix string) (uint64, structs.DirEntries, error) {
	var out structs.DirEntries
	idx, err := r.read("KVList", &out, prefix)
	return idx, out, err
}

func (r *Remote) KVKeys(_ memdb.WatchSet, prefix, sep string) (uint64, []string, error) {
	var out []string
	idx, err := r.read("KVKeys", &out, prefix, sep)
	return idx, out, err
}

func (r *Remote) Nodes(_ memdb.WatchSet) (uint64, structs.Nodes, error) {
	var out structs.Nodes
	idx, err := r.read("Nodes", &out)
	return idx, out, err
}

func (r *Remote) GetNode(_ memdb.WatchSet, name string) (uint64, *structs.Node, error) {
	var out *structs.Node
	idx, err := r.read("GetNode", &out, name)
	return idx, out, err
}

func (r *Remote) Services(_ memdb.WatchSet) (uint64, map[string][]string, error) {
	var out map[string][]string
	idx, err := r.read("Services", &out)
	return idx, out, err
}

func (r *Remote) ServiceNodes(_ memdb.WatchSet, service string, tags []string) (uint64, structs.ServiceNodes, error) {
	var out structs.ServiceNodes
	idx, err := r.read("ServiceNodes", &out, append([]string{service}, tags...)...)
	return idx, out, err
}

func (r *Remote) NodeServices(_ memdb.WatchSet, node string) (uint64, *structs.NodeServices, error) {
	var out *structs.NodeServices
	idx, err := r.read("NodeServices", &out, node)
	return idx, out, err
}

func (r *Remote) NodeChecks(_ memdb.WatchSet, node string) (uint64, structs.HealthChecks, error) {
	var out structs.HealthChecks
	idx, err := r.read("NodeChecks", &out, node)
	return idx, out, err
}

func (r *Remote) ServiceChecks(_ memdb.WatchSet, service string) (uint64, structs.HealthChecks, error) {
	var out structs.HealthChecks
	idx, err := r.read("ServiceChecks", &out, service)
	return idx, out, err
}

func (r *Remote) ChecksInState(_ memdb.WatchSet, state string) (uint64, structs.HealthChecks, error) {
	var out structs.HealthChecks
	idx, err := r.read("ChecksInState", &out, state)
	return idx, out, err
}

func (r *Remote) CheckServiceNodes(_ memdb.WatchSet, service string, tags []string) (uint64, structs.CheckServiceNodes, error) {
	var out structs.CheckServiceNodes
	idx, err := r.read("CheckServiceNodes", &out, append([]string{service}, tags...)...)
	return idx, out, err
}

// Leader is the leader's server address as some server reports it.
func (r *Remote) Leader() string {
	var out string
	if _, err := r.read("Leader", &out); err != nil {
		return ""
	}
	return out
}

func (r *Remote) Peers() ([]string, error) {
	var out []string
	_, err := r.read("Peers", &out)
	return out, err
}

func (r *Remote) RaftConfiguration() (*structs.RaftConfigurationResponse, error) {
	var out *structs.RaftConfigurationResponse
	_, err := r.read("RaftConfiguration", &out)
	return out, err
}
