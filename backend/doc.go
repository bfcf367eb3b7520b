// Package backend is the one contract through which minconsul reads and
// writes its replicated state, and the one place that decides where a
// request runs.
//
// The contract is declared once (contract.go, and one piece per area in
// kv.go, catalog.go, health.go, session.go and operator.go): typed reads that carry
// structs.QueryOptions and answer structs.Indexed values with their
// QueryMeta, Apply for commands, and the operator calls (snapshots, Raft
// peers). httpapi, dnsserver and the agent's anti-entropy name the parts
// they use by embedding its pieces. Each read is one line binding it to
// the raftstore state-store function that answers it.
//
// Backend implements the contract for every kind of agent and routes each
// request:
//   - locally: on the leader, on any server for ?stale reads and status,
//     and on a lone -dev server; reads run as raftstore blocking queries,
//     so a watch parks on the server that owns it;
//   - to the leader, from a follower: reads and operator calls as the same
//     typed request over the server port (internal/rpc), KV writes batched
//     with the other KV writes in flight (forward.go), other writes alone;
//   - to any alive server, from a client agent (which holds no state); that
//     server routes it again.
//
// A request carries the number of servers it passed through and runs
// where it arrives once that reaches maxHops, so a leader change costs at
// most one more hop and never a loop. A forward whose target cannot be
// dialled (it was never delivered) is retried, also while there is no
// leader, for at most the leader wait (7 s), then answers ErrNoLeader.
// Errors cross servers as values: the error httpapi maps is the one the
// answering server returned.
//
// It never parses HTTP or DNS; it knows raftstore, the rpc transport and
// groupcommit, nothing above them.
package backend
