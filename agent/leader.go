package agent

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

func (a *Agent) leaderLoop() {
	defer a.wg.Done()
	var stop func() // ends the current term's duties and waits for them
	defer func() {
		if stop != nil {
			stop()
		}
	}()
	for {
		select {
		case <-a.ctx.Done():
			return
		case leading := <-a.store.LeaderCh():
			if leading && stop == nil {
				stop = a.startLeading()
			} else if !leading && stop != nil {
				stop()
				stop = nil
			}
		}
	}
}

func (a *Agent) startLeading() func() {
	ctx, cancel := context.WithCancel(a.ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		a.lead(ctx)
	}()
	return func() {
		cancel()
		<-done
	}
}

func (a *Agent) lead(ctx context.Context) {
	a.logger.Info("cluster leadership acquired")
	defer a.logger.Info("cluster leadership lost")
	// raftstore publishes leadership only after its own-term barrier has
	// applied, so the state read here includes everything committed.
	t := time.NewTicker(reconcileInterval)
	defer t.Stop()
	for {
		if err := a.reconcile(ctx); err != nil && ctx.Err() == nil {
			a.logger.Warn("reconcile failed", "error", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-a.reconcileCh:
		}
	}
}

// reconcile makes catalog and Raft membership match gossip.
func (a *Agent) reconcile(ctx context.Context) error {
	if a.serf == nil {
		return a.reconcileMember(ctx, a.selfMember())
	}
	known := map[string]bool{}
	for _, m := range a.serf.Members() {
		if m.Tags["dc"] != a.cfg.Datacenter {
			continue
		}
		known[strings.ToLower(m.Name)] = true
		if err := a.reconcileMember(ctx, m); err != nil {
			return err
		}
	}
	// Members gossip reaped while we watched: gone from the catalog and Raft.
	for name, id := range a.takeReaped() {
		if err := a.removeMember(ctx, serf.Member{Name: name, Tags: map[string]string{"role": "consul", "id": id}}); err != nil {
			return err
		}
	}
	// Members absent from gossip altogether are only treated as reaped once
	// this agent's gossip has run longer than the reconnect timeout: right
	// after a restart, serf has not rediscovered everyone yet (its snapshot
	// may miss recent members) and absence means nothing.
	if time.Since(a.serfStarted) < a.reconnectTimeout() {
		return nil
	}
	_, nodes, err := a.store.State().Nodes(nil, &structs.DCSpecificRequest{})
	if err != nil {
		return err
	}
	for _, n := range nodes {
		if known[strings.ToLower(n.Node)] {
			continue
		}
		_, checks, err := a.store.State().NodeChecks(nil, &structs.NodeSpecificRequest{Node: n.Node})
		if err != nil {
			return err
		}
		for _, c := range checks {
			if c.CheckID == structs.SerfCheckID {
				a.logger.Info("removing reaped node from the catalog", "node", n.Node)
				if err := a.apply(ctx, structs.Command{Type: structs.CatalogDeregister, Deregister: &structs.DeregisterRequest{Node: n.Node}}); err != nil {
					return err
				}
				break
			}
		}
	}
	servers, err := a.store.Servers()
	if err != nil {
		return err
	}
	ids := map[string]bool{}
	for _, m := range a.serverMembers() {
		ids[m.id] = true
	}
	for _, s := range servers {
		if !ids[s.ID] && s.ID != a.cfg.NodeID {
			a.logger.Info("removing reaped server from Raft", "id", s.ID, "address", s.Address)
			if err := a.store.RemoveServer(s.ID); err != nil {
				return err
			}
		}
	}
	return nil
}

func (a *Agent) reconnectTimeout() time.Duration {
	if a.cfg.ReconnectTimeout > 0 {
		return a.cfg.ReconnectTimeout
	}
	return 72 * time.Hour
}

// takeReaped returns (and forgets) the members serf reaped: name -> node ID.
func (a *Agent) takeReaped() map[string]string {
	a.reapMu.Lock()
	defer a.reapMu.Unlock()
	r := a.reaped
	a.reaped = map[string]string{}
	return r
}

func (a *Agent) selfMember() serf.Member {
	return serf.Member{Name: a.cfg.NodeName, Tags: a.serfTags(), Status: serf.StatusAlive}
}

func (a *Agent) reconcileMember(ctx context.Context, m serf.Member) error {
	switch m.Status {
	case serf.StatusAlive:
		if err := a.ensureServing(ctx, m, structs.HealthPassing, structs.SerfAliveOutput); err != nil {
			return err
		}
		return a.ensureVoter(m)
	case serf.StatusFailed:
		return a.ensureServing(ctx, m, structs.HealthCritical, structs.SerfFailedOutput)
	case serf.StatusLeft:
		return a.removeMember(ctx, m)
	}
	return nil
}

func memberAddr(m serf.Member) string {
	if m.Addr == nil {
		return ""
	}
	return m.Addr.String()
}

// ensureServing registers a member's node with its serfHealth status.
func (a *Agent) ensureServing(ctx context.Context, m serf.Member, status, output string) error {
	addr := memberAddr(m)
	if m.Name == a.cfg.NodeName && addr == "" {
		addr = a.cfg.AdvertiseAddr
	}
	_, node, err := a.store.State().GetNode(nil, &structs.NodeSpecificRequest{Node: m.Name})
	if err != nil {
		return err
	}
	_, checks, err := a.store.State().NodeChecks(nil, &structs.NodeSpecificRequest{Node: m.Name})
	if err != nil {
		return err
	}
	var serfCheck *structs.HealthCheck
	for _, c := range checks {
		if c.CheckID == structs.SerfCheckID {
			serfCheck = c
		}
	}
	if node != nil && node.Address == addr && serfCheck != nil && serfCheck.Status == status {
		return nil
	}
	if status != structs.HealthPassing && node == nil {
		return nil // never seen alive: nothing to mark
	}
	reg := &structs.RegisterRequest{
		Datacenter: a.cfg.Datacenter, ID: m.Tags["id"], Node: m.Name, Address: addr,
		TaggedAddresses: map[string]string{"lan": addr, "lan_ipv4": addr, "wan": addr, "wan_ipv4": addr},
		NodeMeta:        map[string]string{"consul-network-segment": ""},
		Check: &structs.HealthCheck{Node: m.Name, CheckID: structs.SerfCheckID, Name: structs.SerfCheckName,
			Status: status, Output: output, ServiceTags: []string{}},
	}
	if node != nil && status != structs.HealthPassing {
		reg.SkipNodeUpdate = true
	}
	if node != nil {
		// Keep metadata an agent registered for itself.
		reg.TaggedAddresses, reg.NodeMeta = node.TaggedAddresses, node.Meta
		if node.Address != addr {
			reg.TaggedAddresses = map[string]string{"lan": addr, "lan_ipv4": addr, "wan": addr, "wan_ipv4": addr}
		}
	}
	a.logger.Debug("member health", "node", m.Name, "status", status)
	return a.apply(ctx, structs.Command{Type: structs.CatalogRegister, Register: reg})
}

// ensureVoter adds an alive server of our datacenter to Raft.
func (a *Agent) ensureVoter(m serf.Member) error {
	if m.Tags["role"] != "consul" || m.Tags["id"] == "" || m.Tags["id"] == a.cfg.NodeID || m.Addr == nil {
		return nil
	}
	port, err := strconv.Atoi(m.Tags["port"])
	if err != nil {
		return nil
	}
	addr := fmt.Sprintf("%s:%d", m.Addr, port)
	servers, err := a.store.Servers()
	if err != nil {
		return err
	}
	for _, s := range servers {
		if s.ID == m.Tags["id"] && s.Address == addr && s.Voter {
			return nil
		}
	}
	a.logger.Info("adding server to Raft", "node", m.Name, "id", m.Tags["id"], "address", addr)
	return a.store.AddVoter(m.Tags["id"], addr)
}

// removeMember handles a graceful leave: out of the catalog, out of Raft.
func (a *Agent) removeMember(ctx context.Context, m serf.Member) error {
	if m.Name == a.cfg.NodeName {
		return nil
	}
	if _, n, err := a.store.State().GetNode(nil, &structs.NodeSpecificRequest{Node: m.Name}); err != nil {
		return err
	} else if n != nil {
		a.logger.Info("member left; deregistering", "node", m.Name)
		if err := a.apply(ctx, structs.Command{Type: structs.CatalogDeregister, Deregister: &structs.DeregisterRequest{Node: m.Name}}); err != nil {
			return err
		}
	}
	if m.Tags["role"] == "consul" && m.Tags["id"] != "" {
		servers, err := a.store.Servers()
		if err != nil {
			return err
		}
		for _, s := range servers {
			if s.ID == m.Tags["id"] {
				a.logger.Info("server left; removing from Raft", "node", m.Name, "id", s.ID)
				return a.store.RemoveServer(s.ID)
			}
		}
	}
	return nil
}
