package httpapi

import (
	"github.com/minconsul/minconsul/structs"
)

// statusLeader answers the leader's Raft address as a JSON string, "" when
// there is none (Consul never errors here).
func (s *Server) statusLeader(q *request) error {
	res, err := s.backend.Leader(q.r.Context(), &structs.DCSpecificRequest{})
	if err != nil {
		return err
	}
	return writeJSON(q, res.Value)
}

func (s *Server) statusPeers(q *request) error {
	res, err := s.backend.Peers(q.r.Context(), &structs.DCSpecificRequest{})
	if err != nil {
		return err
	}
	peers := res.Value
	if peers == nil {
		peers = []string{}
	}
	return writeJSON(q, peers)
}

func (s *Server) operatorRaftConfiguration(q *request) error {
	opts, err := parseQueryOptions(q.query)
	if err != nil {
		return err
	}
	res, err := s.backend.RaftConfiguration(q.r.Context(), &structs.DCSpecificRequest{QueryOptions: opts})
	if err != nil {
		return err
	}
	cfg := res.Value
	if cfg == nil {
		cfg = &structs.RaftConfigurationResponse{}
	}
	if cfg.Servers == nil {
		cfg = &structs.RaftConfigurationResponse{Servers: []*structs.RaftServer{}, Index: cfg.Index}
	}
	return writeJSON(q, cfg)
}
