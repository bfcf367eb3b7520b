package httpapi

import (
	"github.com/minconsul/minconsul/structs"
)

// statusLeader answers the leader's Raft address as a JSON string, "" when
// there is none (Consul never errors here).
func (s *Server) statusLeader(q *request) error {
	return writeJSON(q, s.store.Leader())
}

func (s *Server) statusPeers(q *request) error {
	peers, err := s.store.Peers()
	if err != nil {
		return err
	}
	if peers == nil {
		peers = []string{}
	}
	return writeJSON(q, peers)
}

func (s *Server) operatorRaftConfiguration(q *request) error {
	if _, err := parseQueryOptions(q.query); err != nil {
		return err
	}
	cfg, err := s.store.RaftConfiguration()
	if err != nil {
		return err
	}
	if cfg == nil {
		cfg = &structs.RaftConfigurationResponse{}
	}
	if cfg.Servers == nil {
		cfg = &structs.RaftConfigurationResponse{Servers: []*structs.RaftServer{}, Index: cfg.Index}
	}
	return writeJSON(q, cfg)
}
