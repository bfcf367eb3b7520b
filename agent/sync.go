package agent

import (
	"context"
	"fmt"
	"math/rand/v2"
	"reflect"
	"time"

	"github.com/minconsul/minconsul/structs"
)

// Anti-entropy: the local services and checks are the truth for this node;
// the catalog is made to match them. A change syncs at once (so an API call
// returns with the catalog updated); a periodic full sync repairs drift,
// e.g. after a snapshot restore. Writes happen only for differences, so an
// idle sync costs reads, not Raft entries.
const (
	fullSyncInterval = 60 * time.Second
	retryInterval    = time.Second
	syncTimeout      = 10 * time.Second
)

// syncNow syncs immediately (bounded); on failure the sync loop retries.
func (a *Agent) syncNow(ctx context.Context) {
	if ctx == nil {
		ctx = context.Background()
	}
	ctx, cancel := context.WithTimeout(ctx, syncTimeout)
	defer cancel()
	if err := a.sync(ctx); err != nil {
		a.logger.Warn("catalog sync failed; will retry", "error", err)
		a.kick()
	}
}

func (a *Agent) kick() {
	select {
	case a.syncCh <- struct{}{}:
	default:
	}
}

func (a *Agent) syncLoop() {
	defer a.wg.Done()
	if a.store != nil {
		if err := a.store.WaitForLeader(a.ctx); err != nil {
			return
		}
	}
	full := time.NewTimer(0)
	defer full.Stop()
	var retry <-chan time.Time
	for {
		select {
		case <-a.ctx.Done():
			return
		case <-full.C:
			full.Reset(fullSyncInterval + rand.N(fullSyncInterval/4))
		case <-a.syncCh:
		case <-retry:
		}
		retry = nil
		ctx, cancel := context.WithTimeout(a.ctx, syncTimeout)
		err := a.sync(ctx)
		cancel()
		if err != nil {
			if a.ctx.Err() != nil {
				return
			}
			a.logger.Warn("catalog sync failed; will retry", "error", err)
			retry = time.After(retryInterval)
			continue
		}
		a.synced.Store(true)
	}
}

// nodeRegistration describes this node. Its serfHealth check belongs to
// the leader, which sets it from gossip.
func (a *Agent) nodeRegistration() *structs.RegisterRequest {
	addr := a.cfg.AdvertiseAddr
	return &structs.RegisterRequest{
		Datacenter: a.cfg.Datacenter, ID: a.cfg.NodeID, Node: a.cfg.NodeName, Address: addr,
		TaggedAddresses: map[string]string{"lan": addr, "lan_ipv4": addr, "wan": addr, "wan_ipv4": addr},
		NodeMeta:        map[string]string{"consul-network-segment": ""},
	}
}

// sync makes the catalog entries of this node match local state.
func (a *Agent) sync(ctx context.Context) error {
	a.syncMu.Lock()
	defer a.syncMu.Unlock()
	node := a.cfg.NodeName
	apply := func(cmd structs.Command) error {
		_, _, err := a.backend.Apply(ctx, cmd)
		return err
	}

	// The node itself.
	reg := a.nodeRegistration()
	nodeReq := &structs.NodeSpecificRequest{Node: node, QueryOptions: stale()}
	nres, err := a.backend.GetNode(ctx, nodeReq)
	if err != nil {
		return err
	}
	n := nres.Value
	cres, err := a.backend.NodeChecks(ctx, nodeReq)
	if err != nil {
		return err
	}
	remote := map[string]*structs.HealthCheck{}
	for _, c := range cres.Value {
		remote[c.CheckID] = c
	}
	if n == nil || n.Address != reg.Address || n.ID != reg.ID {
		if err := apply(structs.Command{Type: structs.CatalogRegister, Register: reg}); err != nil {
			return fmt.Errorf("register node: %w", err)
		}
	}
	sres, err := a.backend.NodeServices(ctx, nodeReq)
	if err != nil {
		return err
	}
	remoteSvcs := map[string]*structs.NodeService{}
	if sres.Value != nil {
		remoteSvcs = sres.Value.Services
	}

	// Snapshot local state under the lock; write without it.
	a.mu.Lock()
	type svcSync struct {
		ns     *structs.NodeService
		checks structs.HealthChecks
	}
	var svcs []svcSync
	localChecks := map[string]*structs.HealthCheck{}
	for _, id := range sortedKeys(a.checks) {
		localChecks[id] = a.checks[id].hc
	}
	for _, id := range sortedKeys(a.services) {
		s := svcSync{ns: a.services[id].def}
		for _, cid := range sortedKeys(a.checks) {
			if c := a.checks[cid].hc; c.ServiceID == id {
				s.checks = append(s.checks, c)
			}
		}
		svcs = append(svcs, s)
	}
	a.mu.Unlock()

	for _, s := range svcs {
		same := serviceEqual(remoteSvcs[s.ns.ID], s.ns)
		for _, c := range s.checks {
			same = same && checkEqual(remote[c.CheckID], c)
		}
		if same {
			continue
		}
		r := &structs.RegisterRequest{Datacenter: a.cfg.Datacenter, Node: node, Address: reg.Address,
			SkipNodeUpdate: true, Service: s.ns, Checks: s.checks}
		if err := apply(structs.Command{Type: structs.CatalogRegister, Register: r}); err != nil {
			return fmt.Errorf("register service %q: %w", s.ns.ID, err)
		}
	}
	for id, c := range localChecks {
		if c.ServiceID != "" || checkEqual(remote[id], c) {
			continue
		}
		r := &structs.RegisterRequest{Datacenter: a.cfg.Datacenter, Node: node, Address: reg.Address,
			SkipNodeUpdate: true, Check: c}
		if err := apply(structs.Command{Type: structs.CatalogRegister, Register: r}); err != nil {
			return fmt.Errorf("register check %q: %w", id, err)
		}
	}

	// Remove what the catalog has for this node that is no longer local.
	// Re-read checks: service deregistration took its checks along.
	a.mu.Lock()
	known := map[string]bool{}
	for id := range a.services {
		known[id] = true
	}
	a.mu.Unlock()
	for id := range remoteSvcs {
		if known[id] {
			continue
		}
		if err := apply(structs.Command{Type: structs.CatalogDeregister,
			Deregister: &structs.DeregisterRequest{Node: node, ServiceID: id}}); err != nil {
			return fmt.Errorf("deregister service %q: %w", id, err)
		}
	}
	cres, err = a.backend.NodeChecks(ctx, nodeReq)
	if err != nil {
		return err
	}
	for _, c := range cres.Value {
		if c.CheckID == structs.SerfCheckID || localChecks[c.CheckID] != nil {
			continue
		}
		// Registered while this sync ran? Then the next sync writes it.
		a.mu.Lock()
		_, stillLocal := a.checks[c.CheckID]
		a.mu.Unlock()
		if stillLocal {
			continue
		}
		if err := apply(structs.Command{Type: structs.CatalogDeregister,
			Deregister: &structs.DeregisterRequest{Node: node, CheckID: c.CheckID}}); err != nil {
			return fmt.Errorf("deregister check %q: %w", c.CheckID, err)
		}
	}
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
