package raftstore

import (
	"fmt"
	"sort"

	"github.com/hashicorp/go-memdb"
	"github.com/minconsul/minconsul/structs"
)

func collectChecks(it memdb.ResultIterator) structs.HealthChecks {
	out := structs.HealthChecks{}
	for raw := it.Next(); raw != nil; raw = it.Next() {
		out = append(out, raw.(*structs.HealthCheck))
	}
	return out
}

// NodeChecks lists the checks on one node.
func (s *StateStore) NodeChecks(ws memdb.WatchSet, req *structs.NodeSpecificRequest) (uint64, structs.HealthChecks, error) {
	node := req.Node
	tx := s.db.Txn(false)
	defer tx.Abort()
	it, err := tx.Get(tableChecks, "node", node)
	if err != nil {
		return 0, nil, fmt.Errorf("node checks %q: %w", node, err)
	}
	ws.Add(it.WatchCh())
	return maxIndexTxn(tx, tableChecks), collectChecks(it), nil
}

// ServiceChecks lists the checks of every instance of a service on nodes
// matching the node meta filters.
func (s *StateStore) ServiceChecks(ws memdb.WatchSet, req *structs.ServiceSpecificRequest) (uint64, structs.HealthChecks, error) {
	service := req.ServiceName
	tx := s.db.Txn(false)
	defer tx.Abort()
	it, err := tx.Get(tableChecks, "service", service)
	if err != nil {
		return 0, nil, fmt.Errorf("service checks %q: %w", service, err)
	}
	ws.Add(it.WatchCh())
	return s.filterChecksByNodeMeta(ws, maxIndexTxn(tx, tableChecks), collectChecks(it), req.NodeMetaFilters)
}

// filterChecksByNodeMeta keeps checks whose node's meta matches, reading
// (and watching) each node once.
func (s *StateStore) filterChecksByNodeMeta(ws memdb.WatchSet, idx uint64, checks structs.HealthChecks, filters map[string]string) (uint64, structs.HealthChecks, error) {
	if len(filters) == 0 {
		return idx, checks, nil
	}
	match := map[string]bool{}
	out := checks[:0:0]
	for _, c := range checks {
		ok, seen := match[c.Node]
		if !seen {
			nidx, n, err := s.GetNode(ws, &structs.NodeSpecificRequest{Node: c.Node})
			if err != nil {
				return 0, nil, err
			}
			idx = max(idx, nidx)
			ok = n != nil && metaMatches(n.Meta, filters)
			match[c.Node] = ok
		}
		if ok {
			out = append(out, c)
		}
	}
	return idx, out, nil
}

// ChecksInState lists checks in a state ("any" lists all) on nodes
// matching the node meta filters.
func (s *StateStore) ChecksInState(ws memdb.WatchSet, req *structs.ChecksInStateRequest) (uint64, structs.HealthChecks, error) {
	state := req.State
	tx := s.db.Txn(false)
	defer tx.Abort()
	var it memdb.ResultIterator
	var err error
	if state == structs.HealthAny {
		it, err = tx.Get(tableChecks, "id")
	} else {
		it, err = tx.Get(tableChecks, "status", state)
	}
	if err != nil {
		return 0, nil, fmt.Errorf("checks in state %q: %w", state, err)
	}
	ws.Add(it.WatchCh())
	return s.filterChecksByNodeMeta(ws, maxIndexTxn(tx, tableChecks), collectChecks(it), req.NodeMetaFilters)
}

// NodeDump is every node with its services and checks (the web UI's list
// pages), watching all of it; it answers the highest index it saw.
func (s *StateStore) NodeDump(ws memdb.WatchSet, req *structs.DCSpecificRequest) (uint64, structs.NodeDump, error) {
	idx, nodes, err := s.Nodes(ws, req)
	if err != nil {
		return 0, nil, err
	}
	cidx, checks, err := s.ChecksInState(ws, &structs.ChecksInStateRequest{State: structs.HealthAny})
	if err != nil {
		return 0, nil, err
	}
	idx = max(idx, cidx)
	byNode := map[string]structs.HealthChecks{}
	for _, c := range checks {
		byNode[c.Node] = append(byNode[c.Node], c)
	}
	out := make(structs.NodeDump, 0, len(nodes))
	for _, n := range nodes {
		sidx, ns, err := s.NodeServices(ws, &structs.NodeSpecificRequest{Node: n.Node})
		if err != nil {
			return 0, nil, err
		}
		idx = max(idx, sidx)
		out = append(out, nodeInfo(n, ns, byNode[n.Node]))
	}
	return idx, out, nil
}

// NodeInfo is one node with its services and checks (nil when unknown).
func (s *StateStore) NodeInfo(ws memdb.WatchSet, req *structs.NodeSpecificRequest) (uint64, *structs.NodeInfo, error) {
	idx, ns, err := s.NodeServices(ws, req)
	if err != nil || ns == nil {
		return idx, nil, err
	}
	cidx, checks, err := s.NodeChecks(ws, req)
	if err != nil {
		return 0, nil, err
	}
	return max(idx, cidx), nodeInfo(ns.Node, ns, checks), nil
}

// nodeInfo lists a node's services (ns may be nil) in ID order.
func nodeInfo(n *structs.Node, ns *structs.NodeServices, checks structs.HealthChecks) *structs.NodeInfo {
	info := &structs.NodeInfo{Node: n, Checks: checks}
	if ns != nil {
		for _, svc := range ns.Services {
			info.Services = append(info.Services, svc)
		}
		sort.Slice(info.Services, func(i, j int) bool { return info.Services[i].ID < info.Services[j].ID })
	}
	return info
}

// CheckServiceNodes is /v1/health/service/<name>: each instance (on a node
// matching the node meta filters) with its node and the node-level plus
// service-level checks.
func (s *StateStore) CheckServiceNodes(ws memdb.WatchSet, req *structs.ServiceSpecificRequest) (uint64, structs.CheckServiceNodes, error) {
	service := req.ServiceName
	tx := s.db.Txn(false)
	defer tx.Abort()
	idx, recs, err := serviceInstancesTxn(tx, ws, service, req.ServiceTags)
	if err != nil {
		return 0, nil, fmt.Errorf("health service %q: %w", service, err)
	}
	out := make(structs.CheckServiceNodes, 0, len(recs))
	for _, rec := range recs {
		raw, err := tx.First(tableNodes, "id", rec.Node)
		if err != nil || raw == nil || !metaMatches(raw.(*structs.Node).Meta, req.NodeMetaFilters) {
			continue
		}
		checks := structs.HealthChecks{}
		it, err := tx.Get(tableChecks, "node", rec.Node)
		if err != nil {
			return 0, nil, fmt.Errorf("health service %q: %w", service, err)
		}
		for c := it.Next(); c != nil; c = it.Next() {
			hc := c.(*structs.HealthCheck)
			if hc.ServiceID == "" || hc.ServiceID == rec.ID {
				checks = append(checks, hc)
			}
		}
		out = append(out, structs.CheckServiceNode{Node: raw.(*structs.Node), Service: rec.NS, Checks: checks})
	}
	return idx, out, nil
}
