package local

import (
	"context"
	"fmt"
	"reflect"

	"github.com/minconsul/minconsul/structs"
)

// The two halves of anti-entropy (package ae decides when each runs).
// SyncFull reads this node's entries from the catalog and writes what
// differs from the local state; SyncChanges writes only what changed
// locally since the last sync, without reading. Writes happen only for
// differences, so an idle sync costs reads, not Raft entries.
//
// What was last written is remembered by identity: services and checks
// are replaced, never modified, when they change, so an entry whose
// current object is not the one synced has changed since — even when it
// changed while the sync that wrote its predecessor was running.

// stale is how anti-entropy reads: from whichever server answers (its own
// state on a server), as Consul's agent does.
func stale() structs.QueryOptions {
	return structs.QueryOptions{Consistency: structs.ConsistencyStale}
}

// nodeRegistration describes this node. Its serfHealth check belongs to
// the leader, which sets it from gossip.
func (s *State) nodeRegistration() *structs.RegisterRequest {
	addr := s.cfg.AdvertiseAddr
	return &structs.RegisterRequest{
		Datacenter: s.cfg.Datacenter, ID: s.cfg.NodeID, Node: s.cfg.NodeName, Address: addr,
		TaggedAddresses: map[string]string{"lan": addr, "lan_ipv4": addr, "wan": addr, "wan_ipv4": addr},
		NodeMeta:        s.NodeMeta(),
	}
}

// NodeMeta is this node's meta as Consul sets it: the configured pairs
// plus consul-network-segment and consul-version.
func (s *State) NodeMeta() map[string]string {
	m := make(map[string]string, len(s.cfg.NodeMeta)+2)
	for k, v := range s.cfg.NodeMeta {
		m[k] = v
	}
	m[structs.MetaSegment] = ""
	if s.cfg.Version != "" {
		m[structs.MetaConsulVersion] = s.cfg.Version
	}
	return m
}

// entryRegistration registers a service or check of this node without
// touching the node, unless the node is missing: then it is created as
// nodeRegistration describes it.
func (s *State) entryRegistration() *structs.RegisterRequest {
	r := s.nodeRegistration()
	r.SkipNodeUpdate = true
	return r
}

// svcSync is a service and its checks as one sync writes them.
type svcSync struct {
	ns     *structs.NodeService
	checks structs.HealthChecks
}

func (s *State) apply(ctx context.Context, cmd structs.Command) error {
	_, _, err := s.catalog.Apply(ctx, cmd)
	return err
}

func (s *State) registerService(ctx context.Context, sv svcSync) error {
	r := s.entryRegistration()
	r.Service, r.Checks = sv.ns, sv.checks
	if err := s.apply(ctx, structs.Command{Type: structs.CatalogRegister, Register: r}); err != nil {
		return fmt.Errorf("register service %q: %w", sv.ns.ID, err)
	}
	s.markSynced(sv.ns, sv.checks...)
	return nil
}

func (s *State) registerCheck(ctx context.Context, c *structs.HealthCheck) error {
	r := s.entryRegistration()
	r.Check = c
	if err := s.apply(ctx, structs.Command{Type: structs.CatalogRegister, Register: r}); err != nil {
		return fmt.Errorf("register check %q: %w", c.CheckID, err)
	}
	s.markSynced(nil, c)
	return nil
}

func (s *State) deregisterService(ctx context.Context, id string) error {
	err := s.apply(ctx, structs.Command{Type: structs.CatalogDeregister,
		Deregister: &structs.DeregisterRequest{Node: s.cfg.NodeName, ServiceID: id}})
	if err != nil {
		return fmt.Errorf("deregister service %q: %w", id, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, back := s.services[id]; !back {
		delete(s.synced, id)
	}
	// The catalog took the service's checks along.
	for cid, c := range s.syncedChecks {
		if _, back := s.checks[cid]; c.ServiceID == id && !back {
			delete(s.syncedChecks, cid)
		}
	}
	return nil
}

func (s *State) deregisterCheck(ctx context.Context, id string) error {
	err := s.apply(ctx, structs.Command{Type: structs.CatalogDeregister,
		Deregister: &structs.DeregisterRequest{Node: s.cfg.NodeName, CheckID: id}})
	if err != nil {
		return fmt.Errorf("deregister check %q: %w", id, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, back := s.checks[id]; !back {
		delete(s.syncedChecks, id)
	}
	return nil
}

// markSynced records ns (if any) and cks as what the catalog now holds.
func (s *State) markSynced(ns *structs.NodeService, cks ...*structs.HealthCheck) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if ns != nil {
		s.synced[ns.ID] = ns
	}
	for _, c := range cks {
		s.syncedChecks[c.CheckID] = c
	}
}

// snapshot copies the local services (with their checks) and the
// node-level checks, in a deterministic order; with onlyChanged, only
// what differs from what was last synced.
func (s *State) snapshot(onlyChanged bool) (svcs []svcSync, nodeChecks structs.HealthChecks) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ids := sortedKeys(s.checks)
	for _, id := range sortedKeys(s.services) {
		sv := svcSync{ns: s.services[id].def}
		same := s.synced[id] == sv.ns
		for _, cid := range ids {
			if lc := s.checks[cid]; lc.hc.ServiceID == id {
				sv.checks = append(sv.checks, lc.hc)
				same = same && s.inSyncLocked(lc)
			}
		}
		if !onlyChanged || !same {
			svcs = append(svcs, sv)
		}
	}
	for _, cid := range ids {
		if lc := s.checks[cid]; lc.hc.ServiceID == "" && (!onlyChanged || !s.inSyncLocked(lc)) {
			nodeChecks = append(nodeChecks, lc.hc)
		}
	}
	return svcs, nodeChecks
}

// inSyncLocked reports whether the catalog has c as it is, or as it was
// before an output-only change that is still waiting out
// CheckUpdateInterval.
func (s *State) inSyncLocked(c *check) bool {
	synced := s.syncedChecks[c.id]
	return synced == c.hc || (c.deferredFrom != nil && synced == c.deferredFrom)
}

// sameCheck is checkEqual for a full sync: a local check whose output
// change is deferred matches a catalog copy that differs only in output.
func (s *State) sameCheck(remote, local *structs.HealthCheck) bool {
	if checkEqual(remote, local) {
		return true
	}
	s.mu.Lock()
	lc := s.checks[local.CheckID]
	deferred := lc != nil && lc.hc == local && lc.deferredFrom != nil
	s.mu.Unlock()
	if !deferred || remote == nil {
		return false
	}
	r := *remote
	r.Output = local.Output
	return checkEqual(&r, local)
}

// SyncChanges writes what changed locally since the last sync: services
// and checks registered or updated, and deregistrations. Until a full
// sync has made sure the node itself is in the catalog, it is one.
func (s *State) SyncChanges(ctx context.Context) error {
	s.mu.Lock()
	full := !s.nodeSynced
	var goneSvcs, goneChecks []string
	for id := range s.synced {
		if _, ok := s.services[id]; !ok {
			goneSvcs = append(goneSvcs, id)
		}
	}
	for id := range s.syncedChecks {
		if _, ok := s.checks[id]; !ok {
			goneChecks = append(goneChecks, id)
		}
	}
	s.mu.Unlock()
	if full {
		return s.SyncFull(ctx)
	}
	svcs, nodeChecks := s.snapshot(true)
	for _, sv := range svcs {
		if err := s.registerService(ctx, sv); err != nil {
			return err
		}
	}
	for _, c := range nodeChecks {
		if err := s.registerCheck(ctx, c); err != nil {
			return err
		}
	}
	for _, id := range goneSvcs {
		if err := s.deregisterService(ctx, id); err != nil {
			return err
		}
	}
	for _, id := range goneChecks {
		s.mu.Lock()
		_, pending := s.syncedChecks[id] // not taken along by its service
		s.mu.Unlock()
		if !pending {
			continue
		}
		if err := s.deregisterCheck(ctx, id); err != nil {
			return err
		}
	}
	return nil
}

// SyncFull makes the catalog entries of this node match the local state:
// the node, every service and check, and nothing else.
func (s *State) SyncFull(ctx context.Context) error {
	node := s.cfg.NodeName
	nodeReq := &structs.NodeSpecificRequest{Node: node, QueryOptions: stale()}

	// The node itself.
	reg := s.nodeRegistration()
	nres, err := s.catalog.GetNode(ctx, nodeReq)
	if err != nil {
		return err
	}
	cres, err := s.catalog.NodeChecks(ctx, nodeReq)
	if err != nil {
		return err
	}
	remote := map[string]*structs.HealthCheck{}
	for _, c := range cres.Value {
		remote[c.CheckID] = c
	}
	if n := nres.Value; n == nil || n.Address != reg.Address || n.ID != reg.ID || !reflect.DeepEqual(n.Meta, reg.NodeMeta) {
		if err := s.apply(ctx, structs.Command{Type: structs.CatalogRegister, Register: reg}); err != nil {
			return fmt.Errorf("register node: %w", err)
		}
	}
	sres, err := s.catalog.NodeServices(ctx, nodeReq)
	if err != nil {
		return err
	}
	remoteSvcs := map[string]*structs.NodeService{}
	if sres.Value != nil {
		remoteSvcs = sres.Value.Services
	}

	svcs, nodeChecks := s.snapshot(false)
	for _, sv := range svcs {
		same := serviceEqual(remoteSvcs[sv.ns.ID], sv.ns)
		for _, c := range sv.checks {
			same = same && s.sameCheck(remote[c.CheckID], c)
		}
		if same {
			s.markSynced(sv.ns, sv.checks...)
			continue
		}
		if err := s.registerService(ctx, sv); err != nil {
			return err
		}
	}
	local := map[string]bool{}
	for _, c := range nodeChecks {
		local[c.CheckID] = true
		if s.sameCheck(remote[c.CheckID], c) {
			s.markSynced(nil, c)
			continue
		}
		if err := s.registerCheck(ctx, c); err != nil {
			return err
		}
	}
	for _, sv := range svcs {
		for _, c := range sv.checks {
			local[c.CheckID] = true
		}
	}

	// Remove what the catalog has for this node that is no longer local.
	// Re-read checks: service deregistration took its checks along.
	for id := range remoteSvcs {
		s.mu.Lock()
		_, known := s.services[id]
		s.mu.Unlock()
		// The consul service of a server is the leader's, not the agent's.
		if known || id == structs.ConsulServiceID {
			continue
		}
		if err := s.deregisterService(ctx, id); err != nil {
			return err
		}
	}
	if cres, err = s.catalog.NodeChecks(ctx, nodeReq); err != nil {
		return err
	}
	for _, c := range cres.Value {
		if c.CheckID == structs.SerfCheckID || local[c.CheckID] {
			continue
		}
		// Registered while this sync ran? Then the next sync writes it.
		s.mu.Lock()
		_, stillLocal := s.checks[c.CheckID]
		s.mu.Unlock()
		if stillLocal {
			continue
		}
		if err := s.deregisterCheck(ctx, c.CheckID); err != nil {
			return err
		}
	}
	s.mu.Lock()
	s.nodeSynced = true
	s.mu.Unlock()
	return nil
}

// serviceEqual compares a catalog service with a local one, ignoring indexes.
func serviceEqual(remote, local *structs.NodeService) bool {
	if remote == nil || local == nil {
		return false
	}
	r, l := *remote, *local
	r.CreateIndex, r.ModifyIndex, l.CreateIndex, l.ModifyIndex = 0, 0, 0, 0
	if len(r.TaggedAddresses) == 0 && len(l.TaggedAddresses) == 0 {
		r.TaggedAddresses, l.TaggedAddresses = nil, nil
	}
	return reflect.DeepEqual(r, l)
}

// checkEqual compares a catalog check with a local one, ignoring indexes.
func checkEqual(remote, local *structs.HealthCheck) bool {
	if remote == nil || local == nil {
		return false
	}
	r, l := *remote, *local
	r.CreateIndex, r.ModifyIndex, l.CreateIndex, l.ModifyIndex = 0, 0, 0, 0
	if len(r.ServiceTags) == 0 && len(l.ServiceTags) == 0 {
		r.ServiceTags, l.ServiceTags = nil, nil
	}
	return reflect.DeepEqual(r, l)
}
