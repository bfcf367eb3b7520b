package raftstore

import (
	"errors"
	"fmt"
	"time"

	"github.com/hashicorp/raft"
)

// ServerInfo names one Raft server.
type ServerInfo struct {
	ID      string
	Address string
	Voter   bool
}

// HasExistingState reports whether this server has Raft state on disk (it
// was bootstrapped or joined before); such a server must never bootstrap.
func (s *Store) HasExistingState() (bool, error) {
	if s.logs == nil {
		return false, errors.New("raftstore not started")
	}
	return raft.HasExistingState(s.logs, s.stable, s.snaps)
}

// BootstrapCluster starts a cluster with exactly these voters. Every server
// of a -bootstrap-expect group calls it with the same list, so they agree
// on one configuration (raft refuses when state already exists).
func (s *Store) BootstrapCluster(servers []ServerInfo) error {
	conf := raft.Configuration{}
	for _, srv := range servers {
		conf.Servers = append(conf.Servers, raft.Server{ID: raft.ServerID(srv.ID), Address: raft.ServerAddress(srv.Address), Suffrage: raft.Voter})
	}
	if err := s.raft.BootstrapCluster(conf).Error(); err != nil && !errors.Is(err, raft.ErrCantBootstrap) {
		return fmt.Errorf("bootstrap: %w", err)
	}
	return nil
}

// Servers lists the Raft configuration.
func (s *Store) Servers() ([]ServerInfo, error) {
	f := s.raft.GetConfiguration()
	if err := f.Error(); err != nil {
		return nil, err
	}
	var out []ServerInfo
	for _, srv := range f.Configuration().Servers {
		out = append(out, ServerInfo{ID: string(srv.ID), Address: string(srv.Address), Voter: srv.Suffrage == raft.Voter})
	}
	return out, nil
}

// AddVoter adds (or re-addresses) a voter; leader only.
func (s *Store) AddVoter(id, addr string) error {
	if err := s.raft.AddVoter(raft.ServerID(id), raft.ServerAddress(addr), 0, 10*time.Second).Error(); err != nil {
		return mapRaftErr(err)
	}
	return nil
}

// RemoveServer removes a server from the configuration; leader only.
func (s *Store) RemoveServer(id string) error {
	if err := s.raft.RemoveServer(raft.ServerID(id), 0, 10*time.Second).Error(); err != nil {
		return mapRaftErr(err)
	}
	return nil
}

// RemovePeer removes a server by ID or address (DELETE /v1/operator/raft/peer).
// TransferLeader hands leadership to the voter with this ID, or to the
// most up-to-date other voter when id is empty, and waits for the handover.
func (s *Store) TransferLeader(id string) error {
	if id == "" {
		return s.raft.LeadershipTransfer().Error()
	}
	servers, err := s.Servers()
	if err != nil {
		return err
	}
	for _, srv := range servers {
		if srv.ID == id {
			return s.raft.LeadershipTransferToServer(raft.ServerID(srv.ID), raft.ServerAddress(srv.Address)).Error()
		}
	}
	return fmt.Errorf("id %q was not found in the Raft configuration", id)
}

func (s *Store) RemovePeer(id, address string) error {
	servers, err := s.Servers()
	if err != nil {
		return err
	}
	for _, srv := range servers {
		if (id != "" && srv.ID == id) || (id == "" && address != "" && srv.Address == address) {
			return s.RemoveServer(srv.ID)
		}
	}
	// Consul answers an unknown peer with a plain error (HTTP 500).
	if id != "" {
		return fmt.Errorf("id %q was not found in the Raft configuration", id)
	}
	return fmt.Errorf("address %q was not found in the Raft configuration", address)
}
