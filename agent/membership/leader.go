package membership

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/serf/serf"
	"github.com/minconsul/minconsul/structs"
)

// Leader duties, as Consul's leader does them: keep the catalog's view of
// every gossip member (node + serfHealth) and the Raft voter set in line
// with gossip. Runs only while this server leads.
const reconcileInterval = 5 * time.Second

func (ms *Membership) leaderLoop() {
	defer ms.wg.Done()
	var stop func() // ends the current term's duties and waits for them
	defer func() {
		if stop != nil {
			stop()
		}
	}()
	for {
		select {
		case <-ms.ctx.Done():
			return
		case leading := <-ms.store.LeaderCh():
			if leading && stop == nil {
				stop = ms.startLeading()
			} else if !leading && stop != nil {
				stop()
				stop = nil
			}
		}
	}
}

func (ms *Membership) startLeading() func() {
	ctx, cancel := context.WithCancel(ms.ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		ms.lead(ctx)
	}()
	return func() {
		cancel()
		<-done
	}
}

func (ms *Membership) lead(ctx context.Context) {
	ms.logger.Info("cluster leadership acquired")
	defer ms.logger.Info("cluster leadership lost")
	// raftstore publishes leadership only after its own-term barrier has
	// applied, so the state read here includes everything committed.
	t := time.NewTicker(reconcileInterval)
	defer t.Stop()
	for {
		if err := ms.reconcile(ctx); err != nil && ctx.Err() == nil {
			ms.logger.Warn("reconcile failed", "error", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-ms.reconcileCh:
		}
	}
}

// reconcile makes catalog and Raft membership match gossip.
func (ms *Membership) reconcile(ctx context.Context) error {
	if ms.serf == nil {
		return ms.reconcileMember(ctx, ms.selfMember())
	}
	known := map[string]bool{}
	for _, m := range ms.serf.Members() {
		if m.Tags["dc"] != ms.cfg.Datacenter {
			continue
		}
		known[strings.ToLower(m.Name)] = true
		if err := ms.reconcileMember(ctx, m); err != nil {
			return err
		}
	}
	// Members gossip reaped while we watched: gone from the catalog and Raft.
	for name, id := range ms.takeReaped() {
		if err := ms.removeMember(ctx, serf.Member{Name: name, Tags: map[string]string{"role": "consul", "id": id}}); err != nil {
			return err
		}
	}
	// Members absent from gossip altogether are only treated as reaped once
	// this agent's gossip has run longer than the reconnect timeout: right
	// after a restart, serf has not rediscovered everyone yet (its snapshot
	// may miss recent members) and absence means nothing.
	if time.Since(ms.serfStarted) < ms.reconnectTimeout() {
		return nil
	}
	_, nodes, err := ms.store.State().Nodes(nil, &structs.DCSpecificRequest{})
	if err != nil {
		return err
	}
	for _, n := range nodes {
		if known[strings.ToLower(n.Node)] {
			continue
		}
		_, checks, err := ms.store.State().NodeChecks(nil, &structs.NodeSpecificRequest{Node: n.Node})
		if err != nil {
			return err
		}
		for _, c := range checks {
			if c.CheckID == structs.SerfCheckID {
				ms.logger.Info("removing reaped node from the catalog", "node", n.Node)
				if err := ms.apply(ctx, structs.Command{Type: structs.CatalogDeregister, Deregister: &structs.DeregisterRequest{Node: n.Node}}); err != nil {
					return err
				}
				break
			}
		}
	}
	servers, err := ms.store.Servers()
	if err != nil {
		return err
	}
	ids := map[string]bool{}
	for _, m := range ms.serverMembers() {
		ids[m.id] = true
	}
	for _, s := range servers {
		if !ids[s.ID] && s.ID != ms.cfg.NodeID {
			ms.logger.Info("removing reaped server from Raft", "id", s.ID, "address", s.Address)
			if err := ms.store.RemoveServer(s.ID); err != nil {
				return err
			}
		}
	}
	return nil
}

func (ms *Membership) reconnectTimeout() time.Duration {
	if ms.cfg.ReconnectTimeout > 0 {
		return ms.cfg.ReconnectTimeout
	}
	return 72 * time.Hour
}

// takeReaped returns (and forgets) the members serf reaped: name -> node ID.
func (ms *Membership) takeReaped() map[string]string {
	ms.reapMu.Lock()
	defer ms.reapMu.Unlock()
	r := ms.reaped
	ms.reaped = map[string]string{}
	return r
}

func (ms *Membership) selfMember() serf.Member {
	// Serf's protocol range, as a gossiping member would announce it.
	return serf.Member{Name: ms.cfg.NodeName, Tags: ms.serfTags(), Status: serf.StatusAlive,
		ProtocolMin: 1, ProtocolMax: 5, ProtocolCur: 2}
}

func (ms *Membership) reconcileMember(ctx context.Context, m serf.Member) error {
	switch m.Status {
	case serf.StatusAlive:
		if err := ms.ensureServing(ctx, m, structs.HealthPassing, structs.SerfAliveOutput); err != nil {
			return err
		}
		return ms.ensureVoter(m)
	case serf.StatusFailed:
		return ms.ensureServing(ctx, m, structs.HealthCritical, structs.SerfFailedOutput)
	case serf.StatusLeft:
		return ms.removeMember(ctx, m)
	}
	return nil
}

func memberAddr(m serf.Member) string {
	if m.Addr == nil {
		return ""
	}
	return m.Addr.String()
}

// ensureServing registers a member's node with its serfHealth status and,
// for a server, its consul service (as Consul's leader does: the node
// check covers the service, so a failed server drops out of
// consul.service.consul and ?passing answers).
func (ms *Membership) ensureServing(ctx context.Context, m serf.Member, status, output string) error {
	addr := memberAddr(m)
	if m.Name == ms.cfg.NodeName && addr == "" {
		addr = ms.cfg.AdvertiseAddr
	}
	_, node, err := ms.store.State().GetNode(nil, &structs.NodeSpecificRequest{Node: m.Name})
	if err != nil {
		return err
	}
	_, checks, err := ms.store.State().NodeChecks(nil, &structs.NodeSpecificRequest{Node: m.Name})
	if err != nil {
		return err
	}
	var serfCheck *structs.HealthCheck
	for _, c := range checks {
		if c.CheckID == structs.SerfCheckID {
			serfCheck = c
		}
	}
	svc := consulService(m)
	svcOK := true
	if svc != nil {
		_, ns, err := ms.store.State().NodeServices(nil, &structs.NodeSpecificRequest{Node: m.Name})
		if err != nil {
			return err
		}
		svcOK = ns != nil && sameConsulService(ns.Services[structs.ConsulServiceID], svc)
	}
	if node != nil && node.Address == addr && serfCheck != nil && serfCheck.Status == status && svcOK {
		return nil
	}
	if status != structs.HealthPassing && node == nil {
		return nil // never seen alive: nothing to mark
	}
	meta := map[string]string{structs.MetaSegment: ""}
	if v, _, _ := strings.Cut(m.Tags["build"], ":"); v != "" {
		meta[structs.MetaConsulVersion] = v
	}
	reg := &structs.RegisterRequest{
		Datacenter: ms.cfg.Datacenter, ID: m.Tags["id"], Node: m.Name, Address: addr,
		TaggedAddresses: map[string]string{"lan": addr, "lan_ipv4": addr, "wan": addr, "wan_ipv4": addr},
		NodeMeta:        meta,
		Service:         svc,
		Check: &structs.HealthCheck{Node: m.Name, CheckID: structs.SerfCheckID, Name: structs.SerfCheckName,
			Status: status, Output: output, ServiceTags: []string{}},
	}
	// The node entry is written only when it is missing or its address
	// moved: the agent owns its meta and tagged addresses, and an agent's
	// sync landing between the read above and this write must not be
	// undone (the FSM creates a missing node even with SkipNodeUpdate).
	if node == nil || node.Address == addr {
		reg.SkipNodeUpdate = true
	}
	if node != nil {
		// Keep metadata an agent registered for itself.
		reg.TaggedAddresses, reg.NodeMeta = node.TaggedAddresses, node.Meta
		if node.Address != addr {
			reg.TaggedAddresses = map[string]string{"lan": addr, "lan_ipv4": addr, "wan": addr, "wan_ipv4": addr}
		}
	}
	ms.logger.Debug("member health", "node", m.Name, "status", status)
	return ms.apply(ctx, structs.Command{Type: structs.CatalogRegister, Register: reg})
}

// consulService is the consul service a server member registers (nil for
// a client agent): port = its server (RPC) port, meta as Consul's.
func consulService(m serf.Member) *structs.NodeService {
	if m.Tags["role"] != "consul" {
		return nil
	}
	port, err := strconv.Atoi(m.Tags["port"])
	if err != nil {
		return nil
	}
	version, _, _ := strings.Cut(m.Tags["build"], ":")
	raftVsn := m.Tags["raft_vsn"]
	if raftVsn == "" {
		raftVsn = "3"
	}
	return &structs.NodeService{
		ID: structs.ConsulServiceID, Service: structs.ConsulServiceName, Tags: []string{}, Port: port,
		Weights: structs.Weights{Passing: 1, Warning: 1},
		Meta: map[string]string{
			"non_voter": "false", "read_replica": "false", "raft_version": raftVsn,
			"serf_protocol_current": strconv.Itoa(int(m.ProtocolCur)),
			"serf_protocol_min":     strconv.Itoa(int(m.ProtocolMin)),
			"serf_protocol_max":     strconv.Itoa(int(m.ProtocolMax)),
			"version":               version,
		},
	}
}

func sameConsulService(have, want *structs.NodeService) bool {
	if have == nil {
		return false
	}
	if have.Port != want.Port || len(have.Meta) != len(want.Meta) {
		return false
	}
	for k, v := range want.Meta {
		if have.Meta[k] != v {
			return false
		}
	}
	return true
}

// ensureVoter adds an alive server of our datacenter to Raft.
func (ms *Membership) ensureVoter(m serf.Member) error {
	if m.Tags["role"] != "consul" || m.Tags["id"] == "" || m.Tags["id"] == ms.cfg.NodeID || m.Addr == nil {
		return nil
	}
	port, err := strconv.Atoi(m.Tags["port"])
	if err != nil {
		return nil
	}
	addr := fmt.Sprintf("%s:%d", m.Addr, port)
	servers, err := ms.store.Servers()
	if err != nil {
		return err
	}
	for _, s := range servers {
		if s.ID == m.Tags["id"] && s.Address == addr && s.Voter {
			return nil
		}
	}
	ms.logger.Info("adding server to Raft", "node", m.Name, "id", m.Tags["id"], "address", addr)
	return ms.store.AddVoter(m.Tags["id"], addr)
}

// removeMember handles a graceful leave: out of the catalog, out of Raft.
func (ms *Membership) removeMember(ctx context.Context, m serf.Member) error {
	if m.Name == ms.cfg.NodeName {
		return nil
	}
	if _, n, err := ms.store.State().GetNode(nil, &structs.NodeSpecificRequest{Node: m.Name}); err != nil {
		return err
	} else if n != nil {
		ms.logger.Info("member left; deregistering", "node", m.Name)
		if err := ms.apply(ctx, structs.Command{Type: structs.CatalogDeregister, Deregister: &structs.DeregisterRequest{Node: m.Name}}); err != nil {
			return err
		}
	}
	if m.Tags["role"] == "consul" && m.Tags["id"] != "" {
		servers, err := ms.store.Servers()
		if err != nil {
			return err
		}
		for _, s := range servers {
			if s.ID == m.Tags["id"] {
				ms.logger.Info("server left; removing from Raft", "node", m.Name, "id", s.ID)
				return ms.store.RemoveServer(s.ID)
			}
		}
	}
	return nil
}

func (ms *Membership) apply(ctx context.Context, cmd structs.Command) error {
	_, _, err := ms.deps.Catalog.Apply(ctx, cmd)
	return err
}
