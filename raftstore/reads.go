package raftstore

import (
	"github.com/hashicorp/go-memdb"
	"github.com/minconsul/minconsul/structs"
)

// The Store's read methods read the current state store locally; callers
// wanting consistency or blocking wrap them in Query.

func (s *Store) KVGet(ws memdb.WatchSet, key string) (uint64, *structs.DirEntry, error) {
	return s.State().KVGet(ws, key)
}

func (s *Store) KVList(ws memdb.WatchSet, prefix string) (uint64, structs.DirEntries, error) {
	return s.State().KVList(ws, prefix)
}

func (s *Store) KVKeys(ws memdb.WatchSet, prefix, sep string) (uint64, []string, error) {
	return s.State().KVKeys(ws, prefix, sep)
}

func (s *Store) Nodes(ws memdb.WatchSet) (uint64, structs.Nodes, error) {
	return s.State().Nodes(ws)
}

func (s *Store) GetNode(ws memdb.WatchSet, name string) (uint64, *structs.Node, error) {
	return s.State().GetNode(ws, name)
}

func (s *Store) Services(ws memdb.WatchSet) (uint64, map[string][]string, error) {
	return s.State().Services(ws)
}

func (s *Store) ServiceNodes(ws memdb.WatchSet, service string, tags []string) (uint64, structs.ServiceNodes, error) {
	return s.State().ServiceNodes(ws, service, tags)
}

func (s *Store) NodeServices(ws memdb.WatchSet, node string) (uint64, *structs.NodeServices, error) {
	return s.State().NodeServices(ws, node)
}

func (s *Store) NodeChecks(ws memdb.WatchSet, node string) (uint64, structs.HealthChecks, error) {
	return s.State().NodeChecks(ws, node)
}

func (s *Store) ServiceChecks(ws memdb.WatchSet, service string) (uint64, structs.HealthChecks, error) {
	return s.State().ServiceChecks(ws, service)
}

func (s *Store) ChecksInState(ws memdb.WatchSet, state string) (uint64, structs.HealthChecks, error) {
	return s.State().ChecksInState(ws, state)
}

func (s *Store) CheckServiceNodes(ws memdb.WatchSet, service string, tags []string) (uint64, structs.CheckServiceNodes, error) {
	return s.State().CheckServiceNodes(ws, service, tags)
}

// NodesByAddress lists nodes with this address (DNS PTR).
func (s *Store) NodesByAddress(addr string) []*structs.Node {
	return s.State().NodesByAddress(addr)
}
