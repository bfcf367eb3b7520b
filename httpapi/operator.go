package httpapi

import (
	"strings"

	"github.com/minconsul/minconsul/structs"
)

// operatorRaftPeer removes a server from the Raft configuration by ?id or
// ?address, with Consul's messages.
func (s *Server) operatorRaftPeer(q *request) error {
	id, hasID := q.query["id"]
	addr, hasAddr := q.query["address"]
	switch {
	case !hasID && !hasAddr:
		return badRequest("Must specify either ?id with the server's ID or ?address with IP:port of peer to remove")
	case hasID && hasAddr:
		return badRequest("Must specify only one of ?id or ?address")
	}
	req := &structs.RaftRemovePeerRequest{ID: first(id), Address: first(addr)}
	_, err := s.backend.RaftRemovePeer(q.r.Context(), req)
	return err
}

// operatorRaftTransferLeader hands leadership to ?id (or any other voter)
// and answers Consul's {"Success": true}.
func (s *Server) operatorRaftTransferLeader(q *request) error {
	req := &structs.RaftTransferLeaderRequest{ID: q.query.Get("id")}
	if _, err := s.backend.RaftTransferLeader(q.r.Context(), req); err != nil {
		return err
	}
	return writeJSON(q, struct{ Success bool }{true})
}

// first is the first value of a query parameter ("" for "?id").
func first(vs []string) string {
	if len(vs) == 0 {
		return ""
	}
	return vs[0]
}

// agentForceLeave moves a failed member to "left" (PUT
// /v1/agent/force-leave/<node>).
func (s *Server) agentForceLeave(q *request) error {
	node := strings.TrimPrefix(q.tail, "/")
	// The agent's error is Consul's whole answer (500 "agent: No node
	// found with name ..."), so it goes out unwrapped.
	return s.agent.ForceLeave(q.r.Context(), node)
}

// usageResponse is /v1/operator/usage: the counts by datacenter, and (as
// Consul's body has them) the query metadata.
type usageResponse struct {
	Usage map[string]*structs.ServiceUsage
	structs.QueryMeta
	ConsistencyLevel      string
	NotModified           bool
	Backend               int
	ResultsFilteredByACLs bool
}

// operatorUsage counts nodes, services and instances. There is one
// datacenter, so ?global answers the same.
func (s *Server) operatorUsage(q *request) error {
	usage, meta, err := read(s, q, &structs.DCSpecificRequest{}, s.backend.ServiceUsage)
	if err != nil {
		return err
	}
	return writeJSON(q, &usageResponse{Usage: map[string]*structs.ServiceUsage{s.cfg.Datacenter: usage}, QueryMeta: *meta,
		ConsistencyLevel: q.w.Header().Get(hdrConsistency)})
}
