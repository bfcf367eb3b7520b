package httpapi

import (
	"context"
	"fmt"
	"strings"
)

// peerRemover is the part of a server's store behind DELETE
// /v1/operator/raft/peer (client agents forward it to a server).
type peerRemover interface {
	RemovePeer(id, address string) error
}

// forceLeaver is implemented by agent.Agent.
type forceLeaver interface {
	ForceLeave(ctx context.Context, node string) error
}

// operatorRaftPeer removes a server from the Raft configuration by ?id or
// ?address, with Consul's messages.
func (s *Server) operatorRaftPeer(q *request) error {
	if err := s.checkDC(q); err != nil {
		return err
	}
	id, hasID := q.query["id"]
	addr, hasAddr := q.query["address"]
	switch {
	case !hasID && !hasAddr:
		return badRequest("Must specify either ?id with the server's ID or ?address with IP:port of peer to remove")
	case hasID && hasAddr:
		return badRequest("Must specify only one of ?id or ?address")
	}
	pr, ok := s.store.(peerRemover)
	if !ok {
		return errNotSupported
	}
	var err error
	if hasID {
		err = pr.RemovePeer(first(id), "")
	} else {
		err = pr.RemovePeer("", first(addr))
	}
	return err
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
	fl, ok := s.agent.(forceLeaver)
	if !ok {
		return errNotSupported
	}
	node := strings.TrimPrefix(q.tail, "/")
	if err := fl.ForceLeave(q.r.Context(), node); err != nil {
		return fmt.Errorf("force leave %q: %w", node, err)
	}
	return nil
}
