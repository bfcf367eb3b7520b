package raftstore

import (
	"fmt"
	"reflect"
	"strings"

	"github.com/hashicorp/go-memdb"
	"github.com/minconsul/minconsul/structs"
)

// ensureRegistrationTxn applies a catalog registration: node, then service,
// then checks. Unchanged objects keep their indexes, so anti-entropy
// re-registering the same thing wakes nobody.
func ensureRegistrationTxn(tx *memdb.Txn, idx uint64, req *structs.RegisterRequest) error {
	if req.Node == "" {
		return structs.BadRequest("Must provide node")
	}
	raw, err := tx.First(tableNodes, "id", req.Node)
	if err != nil {
		return err
	}
	if raw == nil || !req.SkipNodeUpdate {
		if req.Address == "" { // as Consul: an update would blank a known node's address
			return structs.BadRequest("Must provide address if SkipNodeUpdate is not set")
		}
		n := &structs.Node{ID: req.ID, Node: req.Node, Address: req.Address, Datacenter: req.Datacenter,
			TaggedAddresses: req.TaggedAddresses, Meta: req.NodeMeta}
		if err := ensureNodeTxn(tx, idx, n); err != nil {
			return err
		}
	}
	node := req.Node
	if raw != nil {
		node = raw.(*structs.Node).Node // keep the stored spelling
	}
	if req.Service != nil {
		if err := ensureServiceTxn(tx, idx, node, req.Service); err != nil {
			return err
		}
	}
	if req.Check != nil {
		if err := ensureCheckTxn(tx, idx, node, req.Check); err != nil {
			return err
		}
	}
	for _, c := range req.Checks {
		if c == nil {
			continue // "Checks":[null] decodes to a nil entry; never panic the FSM
		}
		if err := ensureCheckTxn(tx, idx, node, c); err != nil {
			return err
		}
	}
	return nil
}

func ensureNodeTxn(tx *memdb.Txn, idx uint64, in *structs.Node) error {
	n := *in
	if n.TaggedAddresses == nil {
		n.TaggedAddresses = map[string]string{}
	}
	if n.Meta == nil {
		n.Meta = map[string]string{}
	}
	raw, err := tx.First(tableNodes, "id", n.Node)
	if err != nil {
		return err
	}
	n.CreateIndex, n.ModifyIndex = idx, idx
	if raw != nil {
		old := raw.(*structs.Node)
		n.Node = old.Node
		if n.ID == "" {
			n.ID = old.ID
		}
		if n.Datacenter == "" {
			n.Datacenter = old.Datacenter
		}
		n.CreateIndex, n.ModifyIndex = old.CreateIndex, old.ModifyIndex
		if reflect.DeepEqual(&n, old) {
			return nil
		}
		n.ModifyIndex = idx
	}
	if err := tx.Insert(tableNodes, &n); err != nil {
		return err
	}
	if err := setIndexTxn(tx, tableNodes, idx); err != nil {
		return err
	}
	// Node fields show up in every service row on this node.
	return bumpNodeServicesTxn(tx, idx, n.Node)
}

func bumpNodeServicesTxn(tx *memdb.Txn, idx uint64, node string) error {
	it, err := tx.Get(tableServices, "node", node)
	if err != nil {
		return err
	}
	seen := map[string]bool{}
	for raw := it.Next(); raw != nil; raw = it.Next() {
		seen[raw.(*serviceRecord).Service] = true
	}
	for name := range seen {
		if err := setIndexTxn(tx, serviceIndexKey(name), idx); err != nil {
			return err
		}
	}
	return nil
}

func ensureServiceTxn(tx *memdb.Txn, idx uint64, node string, in *structs.NodeService) error {
	ns := *in
	if ns.ID == "" {
		ns.ID = ns.Service
	}
	if ns.Service == "" {
		return structs.BadRequest("Must provide service name")
	}
	if ns.Tags == nil {
		ns.Tags = []string{}
	}
	if ns.Meta == nil {
		ns.Meta = map[string]string{}
	}
	if ns.Weights.Passing == 0 && ns.Weights.Warning == 0 {
		ns.Weights = structs.Weights{Passing: 1, Warning: 1}
	}
	raw, err := tx.First(tableServices, "id", node, ns.ID)
	if err != nil {
		return err
	}
	ns.CreateIndex, ns.ModifyIndex = idx, idx
	if raw != nil {
		old := raw.(*serviceRecord).NS
		ns.CreateIndex, ns.ModifyIndex = old.CreateIndex, old.ModifyIndex
		if reflect.DeepEqual(&ns, old) {
			return nil
		}
		ns.ModifyIndex = idx
		if oldName := raw.(*serviceRecord).Service; !strings.EqualFold(oldName, ns.Service) {
			if err := setIndexTxn(tx, serviceIndexKey(oldName), idx); err != nil {
				return err
			}
		}
	}
	rec := &serviceRecord{Node: node, ID: ns.ID, Service: ns.Service, NS: &ns}
	if err := tx.Insert(tableServices, rec); err != nil {
		return err
	}
	if err := setIndexTxn(tx, tableServices, idx); err != nil {
		return err
	}
	return setIndexTxn(tx, serviceIndexKey(ns.Service), idx)
}

func ensureCheckTxn(tx *memdb.Txn, idx uint64, node string, in *structs.HealthCheck) error {
	hc := *in
	hc.Node = node
	if hc.CheckID == "" {
		hc.CheckID = hc.Name
	}
	if hc.CheckID == "" {
		return structs.BadRequest("Missing check ID")
	}
	if hc.Status == "" {
		hc.Status = structs.HealthCritical
	}
	switch hc.Status {
	case structs.HealthPassing, structs.HealthWarning, structs.HealthCritical, structs.HealthMaint:
	default:
		return structs.BadRequest(fmt.Sprintf("Invalid check status: %q", hc.Status))
	}
	hc.ServiceName, hc.ServiceTags = "", nil
	if hc.ServiceID != "" {
		raw, err := tx.First(tableServices, "id", node, hc.ServiceID)
		if err != nil {
			return err
		}
		if raw == nil {
			return structs.BadRequest(fmt.Sprintf("Missing service registration for check %q: service %q is not registered on node %q", hc.CheckID, hc.ServiceID, node))
		}
		ns := raw.(*serviceRecord).NS
		hc.ServiceName, hc.ServiceTags = ns.Service, ns.Tags
	}
	if hc.ServiceTags == nil {
		hc.ServiceTags = []string{}
	}
	raw, err := tx.First(tableChecks, "id", node, hc.CheckID)
	if err != nil {
		return err
	}
	hc.CreateIndex, hc.ModifyIndex = idx, idx
	if raw != nil {
		old := raw.(*structs.HealthCheck)
		hc.CreateIndex, hc.ModifyIndex = old.CreateIndex, old.ModifyIndex
		if reflect.DeepEqual(&hc, old) {
			return nil
		}
		hc.ModifyIndex = idx
		if old.ServiceName != "" && !strings.EqualFold(old.ServiceName, hc.ServiceName) {
			if err := setIndexTxn(tx, serviceIndexKey(old.ServiceName), idx); err != nil {
				return err
			}
		}
	}
	if err := tx.Insert(tableChecks, &hc); err != nil {
		return err
	}
	if hc.Status == structs.HealthCritical {
		if err := invalidateCheckSessionsTxn(tx, idx, node, hc.CheckID); err != nil {
			return err
		}
	}
	if err := setIndexTxn(tx, tableChecks, idx); err != nil {
		return err
	}
	if hc.ServiceName != "" {
		return setIndexTxn(tx, serviceIndexKey(hc.ServiceName), idx)
	}
	// A node-level check changes the health of every service on the node.
	return bumpNodeServicesTxn(tx, idx, node)
}

// deregisterTxn removes a check, a service (with its checks) or a node
// (with everything on it).
func deregisterTxn(tx *memdb.Txn, idx uint64, req *structs.DeregisterRequest) error {
	if req.Node == "" {
		return structs.BadRequest("Must provide node")
	}
	switch {
	case req.ServiceID != "" && req.CheckID == "":
		return deleteServiceTxn(tx, idx, req.Node, req.ServiceID)
	case req.CheckID != "":
		if req.ServiceID != "" {
			if err := deleteServiceTxn(tx, idx, req.Node, req.ServiceID); err != nil {
				return err
			}
		}
		return deleteCheckTxn(tx, idx, req.Node, req.CheckID)
	}
	return deleteNodeTxn(tx, idx, req.Node)
}

func deleteCheckTxn(tx *memdb.Txn, idx uint64, node, id string) error {
	raw, err := tx.First(tableChecks, "id", node, id)
	if err != nil || raw == nil {
		return err
	}
	hc := raw.(*structs.HealthCheck)
	if err := tx.Delete(tableChecks, hc); err != nil {
		return err
	}
	if err := invalidateCheckSessionsTxn(tx, idx, hc.Node, hc.CheckID); err != nil {
		return err
	}
	if err := setIndexTxn(tx, tableChecks, idx); err != nil {
		return err
	}
	if hc.ServiceName != "" {
		return setIndexTxn(tx, serviceIndexKey(hc.ServiceName), idx)
	}
	return bumpNodeServicesTxn(tx, idx, hc.Node)
}

func deleteServiceTxn(tx *memdb.Txn, idx uint64, node, id string) error {
	raw, err := tx.First(tableServices, "id", node, id)
	if err != nil || raw == nil {
		return err
	}
	rec := raw.(*serviceRecord)
	it, err := tx.Get(tableChecks, "node_service", node, id)
	if err != nil {
		return err
	}
	var checks []any
	for c := it.Next(); c != nil; c = it.Next() {
		checks = append(checks, c)
	}
	for _, c := range checks {
		if err := tx.Delete(tableChecks, c); err != nil {
			return err
		}
		if err := invalidateCheckSessionsTxn(tx, idx, node, c.(*structs.HealthCheck).CheckID); err != nil {
			return err
		}
	}
	if len(checks) > 0 {
		if err := setIndexTxn(tx, tableChecks, idx); err != nil {
			return err
		}
	}
	if err := tx.Delete(tableServices, rec); err != nil {
		return err
	}
	if err := setIndexTxn(tx, tableServices, idx); err != nil {
		return err
	}
	return setIndexTxn(tx, serviceIndexKey(rec.Service), idx)
}

func deleteNodeTxn(tx *memdb.Txn, idx uint64, node string) error {
	raw, err := tx.First(tableNodes, "id", node)
	if err != nil || raw == nil {
		return err
	}
	if err := invalidateNodeSessionsTxn(tx, idx, node); err != nil {
		return err
	}
	it, err := tx.Get(tableServices, "node", node)
	if err != nil {
		return err
	}
	var ids []string
	for r := it.Next(); r != nil; r = it.Next() {
		ids = append(ids, r.(*serviceRecord).ID)
	}
	for _, id := range ids {
		if err := deleteServiceTxn(tx, idx, node, id); err != nil {
			return err
		}
	}
	cit, err := tx.Get(tableChecks, "node", node)
	if err != nil {
		return err
	}
	var checks []string
	for c := cit.Next(); c != nil; c = cit.Next() {
		checks = append(checks, c.(*structs.HealthCheck).CheckID)
	}
	for _, id := range checks {
		if err := deleteCheckTxn(tx, idx, node, id); err != nil {
			return err
		}
	}
	if err := tx.Delete(tableNodes, raw); err != nil {
		return err
	}
	if err := deleteCoordinateTxn(tx, idx, node); err != nil {
		return err
	}
	return setIndexTxn(tx, tableNodes, idx)
}

// Nodes lists the nodes whose meta matches req.NodeMetaFilters, sorted by
// name.
func (s *StateStore) Nodes(ws memdb.WatchSet, req *structs.DCSpecificRequest) (uint64, structs.Nodes, error) {
	tx := s.db.Txn(false)
	defer tx.Abort()
	it, err := tx.Get(tableNodes, "id")
	if err != nil {
		return 0, nil, fmt.Errorf("nodes: %w", err)
	}
	ws.Add(it.WatchCh())
	var out structs.Nodes
	for raw := it.Next(); raw != nil; raw = it.Next() {
		if n := raw.(*structs.Node); metaMatches(n.Meta, req.NodeMetaFilters) {
			out = append(out, n)
		}
	}
	return maxIndexTxn(tx, tableNodes), out, nil
}

// metaMatches reports whether meta holds every filter pair.
func metaMatches(meta, filters map[string]string) bool {
	for k, v := range filters {
		got, ok := meta[k]
		if !ok || got != v {
			return false
		}
	}
	return true
}

// GetNode returns one node (nil when missing).
func (s *StateStore) GetNode(ws memdb.WatchSet, req *structs.NodeSpecificRequest) (uint64, *structs.Node, error) {
	name := req.Node
	tx := s.db.Txn(false)
	defer tx.Abort()
	ch, raw, err := tx.FirstWatch(tableNodes, "id", name)
	if err != nil {
		return 0, nil, fmt.Errorf("node %q: %w", name, err)
	}
	ws.Add(ch)
	idx := maxIndexTxn(tx, tableNodes)
	if raw == nil {
		return idx, nil, nil
	}
	return idx, raw.(*structs.Node), nil
}

// Services maps each service name to the union of its instances' tags;
// with node meta filters, only instances on matching nodes count.
func (s *StateStore) Services(ws memdb.WatchSet, req *structs.DCSpecificRequest) (uint64, map[string][]string, error) {
	if len(req.NodeMetaFilters) > 0 {
		return s.servicesByNodeMeta(ws, req)
	}
	tx := s.db.Txn(false)
	defer tx.Abort()
	it, err := tx.Get(tableServices, "id")
	if err != nil {
		return 0, nil, fmt.Errorf("services: %w", err)
	}
	ws.Add(it.WatchCh())
	sets := structs.ServiceTagSets{}
	for raw := it.Next(); raw != nil; raw = it.Next() {
		ns := raw.(*serviceRecord).NS
		sets.Add(ns.Service, ns.Tags)
	}
	return maxIndexTxn(tx, tableServices), sets.Sorted(), nil
}

// servicesByNodeMeta unions the tags of services on nodes whose meta
// matches, watching every node it reads.
func (s *StateStore) servicesByNodeMeta(ws memdb.WatchSet, req *structs.DCSpecificRequest) (uint64, map[string][]string, error) {
	idx, nodes, err := s.Nodes(ws, req)
	if err != nil {
		return 0, nil, err
	}
	sets := structs.ServiceTagSets{}
	for _, n := range nodes {
		nidx, ns, err := s.NodeServices(ws, &structs.NodeSpecificRequest{Node: n.Node})
		if err != nil {
			return 0, nil, err
		}
		idx = max(idx, nidx)
		if ns == nil {
			continue
		}
		for _, svc := range ns.Services {
			sets.Add(svc.Service, svc.Tags)
		}
	}
	return idx, sets.Sorted(), nil
}

// ServiceUsage counts the catalog's nodes, service names and instances
// (/v1/operator/usage), watching both tables. Billable instances leave out
// the "consul" service, as Consul's do; there are no Connect instances.
func (s *StateStore) ServiceUsage(ws memdb.WatchSet, _ *structs.DCSpecificRequest) (uint64, *structs.ServiceUsage, error) {
	tx := s.db.Txn(false)
	defer tx.Abort()
	nodes, err := tx.Get(tableNodes, "id")
	if err != nil {
		return 0, nil, fmt.Errorf("usage: %w", err)
	}
	ws.Add(nodes.WatchCh())
	svcs, err := tx.Get(tableServices, "id")
	if err != nil {
		return 0, nil, fmt.Errorf("usage: %w", err)
	}
	ws.Add(svcs.WatchCh())
	u := &structs.ServiceUsage{ConnectServiceInstances: map[string]int{
		"connect-native": 0, "connect-proxy": 0, "ingress-gateway": 0, "mesh-gateway": 0, "terminating-gateway": 0}}
	for raw := nodes.Next(); raw != nil; raw = nodes.Next() {
		u.Nodes++
	}
	names := map[string]struct{}{}
	for raw := svcs.Next(); raw != nil; raw = svcs.Next() {
		ns := raw.(*serviceRecord).NS
		names[ns.Service] = struct{}{}
		u.ServiceInstances++
		if ns.Service != "consul" {
			u.BillableServiceInstances++
		}
	}
	u.Services = len(names)
	return maxIndexTxn(tx, tableNodes, tableServices), u, nil
}

// hasTags reports whether every wanted tag is among have (case-insensitive).
func hasTags(have, want []string) bool {
	for _, w := range want {
		found := false
		for _, h := range have {
			if strings.EqualFold(h, w) {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// serviceInstancesTxn returns the instances of a service with all tags,
// watching the service's own index entry (bumped by anything that changes
// what a reader of this service sees).
func serviceInstancesTxn(tx *memdb.Txn, ws memdb.WatchSet, service string, tags []string) (uint64, []*serviceRecord, error) {
	idx := maxIndexWatchTxn(tx, ws, serviceIndexKey(service))
	if idx == 0 {
		idx = maxIndexTxn(tx, tableServices)
	}
	it, err := tx.Get(tableServices, "service", service)
	if err != nil {
		return 0, nil, err
	}
	var out []*serviceRecord
	for raw := it.Next(); raw != nil; raw = it.Next() {
		rec := raw.(*serviceRecord)
		if hasTags(rec.NS.Tags, tags) {
			out = append(out, rec)
		}
	}
	return idx, out, nil
}

// ServiceNodes is /v1/catalog/service/<name>.
func (s *StateStore) ServiceNodes(ws memdb.WatchSet, req *structs.ServiceSpecificRequest) (uint64, structs.ServiceNodes, error) {
	service := req.ServiceName
	tx := s.db.Txn(false)
	defer tx.Abort()
	idx, recs, err := serviceInstancesTxn(tx, ws, service, req.ServiceTags)
	if err != nil {
		return 0, nil, fmt.Errorf("service nodes %q: %w", service, err)
	}
	out := make(structs.ServiceNodes, 0, len(recs))
	for _, rec := range recs {
		raw, err := tx.First(tableNodes, "id", rec.Node)
		if err != nil || raw == nil {
			continue
		}
		n := raw.(*structs.Node)
		if !metaMatches(n.Meta, req.NodeMetaFilters) {
			continue
		}
		out = append(out, serviceNodeRow(n, rec.NS))
	}
	return idx, out, nil
}

// serviceNodeRow is one /v1/catalog/service row: the node's fields with
// the instance's.
func serviceNodeRow(n *structs.Node, ns *structs.NodeService) *structs.ServiceNode {
	return &structs.ServiceNode{
		ID: n.ID, Node: n.Node, Address: n.Address, Datacenter: n.Datacenter,
		TaggedAddresses: n.TaggedAddresses, NodeMeta: n.Meta,
		ServiceKind: ns.Kind, ServiceID: ns.ID, ServiceName: ns.Service, ServiceTags: ns.Tags,
		ServiceAddress: ns.Address, ServiceTaggedAddresses: ns.TaggedAddresses,
		ServiceWeights: ns.Weights, ServiceMeta: ns.Meta, ServicePort: ns.Port,
		ServiceEnableTagOverride: ns.EnableTagOverride, ServiceProxy: ns.Proxy, ServiceConnect: ns.Connect,
		CreateIndex: ns.CreateIndex, ModifyIndex: ns.ModifyIndex,
	}
}

// AllServiceNodes is every service instance as /v1/catalog/service rows
// (for /v1/catalog/services?filter=, which filters instances, then lists
// names and tags). It watches the services and nodes tables, and its index
// is theirs: a filter may select node fields.
func (s *StateStore) AllServiceNodes(ws memdb.WatchSet, req *structs.DCSpecificRequest) (uint64, structs.ServiceNodes, error) {
	tx := s.db.Txn(false)
	defer tx.Abort()
	nit, err := tx.Get(tableNodes, "id")
	if err != nil {
		return 0, nil, fmt.Errorf("all service nodes: %w", err)
	}
	ws.Add(nit.WatchCh())
	nodes := map[string]*structs.Node{}
	for raw := nit.Next(); raw != nil; raw = nit.Next() {
		n := raw.(*structs.Node)
		if metaMatches(n.Meta, req.NodeMetaFilters) {
			nodes[strings.ToLower(n.Node)] = n
		}
	}
	it, err := tx.Get(tableServices, "id")
	if err != nil {
		return 0, nil, fmt.Errorf("all service nodes: %w", err)
	}
	ws.Add(it.WatchCh())
	var out structs.ServiceNodes
	for raw := it.Next(); raw != nil; raw = it.Next() {
		rec := raw.(*serviceRecord)
		if n := nodes[strings.ToLower(rec.Node)]; n != nil {
			out = append(out, serviceNodeRow(n, rec.NS))
		}
	}
	return maxIndexTxn(tx, tableServices, tableNodes), out, nil
}

// NodeServices is /v1/catalog/node/<node> (nil when the node is unknown).
func (s *StateStore) NodeServices(ws memdb.WatchSet, req *structs.NodeSpecificRequest) (uint64, *structs.NodeServices, error) {
	node := req.Node
	tx := s.db.Txn(false)
	defer tx.Abort()
	ch, raw, err := tx.FirstWatch(tableNodes, "id", node)
	if err != nil {
		return 0, nil, fmt.Errorf("node services %q: %w", node, err)
	}
	ws.Add(ch)
	idx := maxIndexTxn(tx, tableNodes, tableServices)
	if raw == nil {
		return idx, nil, nil
	}
	it, err := tx.Get(tableServices, "node", node)
	if err != nil {
		return 0, nil, fmt.Errorf("node services %q: %w", node, err)
	}
	ws.Add(it.WatchCh())
	out := &structs.NodeServices{Node: raw.(*structs.Node), Services: map[string]*structs.NodeService{}}
	for r := it.Next(); r != nil; r = it.Next() {
		rec := r.(*serviceRecord)
		out.Services[rec.ID] = rec.NS
	}
	return idx, out, nil
}
