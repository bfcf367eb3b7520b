package agent

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/memberlist"
	"github.com/hashicorp/serf/serf"
	"github.com/minconsul/minconsul/raftstore"
	"github.com/minconsul/minconsul/structs"
)

// setupSerf starts this agent's LAN gossip member (memberlist under serf,
// as Consul's LAN pool). Tags carry what peers need: role, datacenter,
// node ID, server port and bootstrap expectations.
func (a *Agent) setupSerf() error {
	conf := serf.DefaultConfig()
	conf.Init()
	conf.NodeName = a.cfg.NodeName
	conf.Tags = a.serfTags()
	conf.EventCh = a.serfEvents
	std := a.logger.Named("serf").StandardLogger(&hclog.StandardLoggerOptions{InferLevels: true})
	conf.Logger = std
	conf.ReconnectTimeout = a.cfg.ReconnectTimeout
	if conf.ReconnectTimeout <= 0 {
		conf.ReconnectTimeout = 72 * time.Hour
	}
	conf.ReapInterval = min(15*time.Second, conf.ReconnectTimeout/2)
	conf.TombstoneTimeout = 24 * time.Hour
	conf.LeavePropagateDelay = time.Second
	if a.cfg.DataDir != "" {
		if err := os.MkdirAll(filepath.Join(a.cfg.DataDir, "serf"), 0o755); err != nil {
			return fmt.Errorf("serf dir: %w", err)
		}
		conf.SnapshotPath = filepath.Join(a.cfg.DataDir, "serf", "local.snapshot")
		conf.RejoinAfterLeave = true
	}
	ml := memberlist.DefaultLANConfig()
	ml.Name = a.cfg.NodeName
	ml.BindAddr = a.cfg.BindAddr
	ml.BindPort = a.cfg.SerfLANPort
	ml.AdvertiseAddr = a.cfg.AdvertiseAddr
	ml.AdvertisePort = a.cfg.SerfLANPort
	ml.Logger = std
	if a.cfg.GossipFast {
		// Tests: detect failures in well under a second.
		ml.ProbeInterval = 200 * time.Millisecond
		ml.ProbeTimeout = 100 * time.Millisecond
		ml.GossipInterval = 50 * time.Millisecond
		ml.SuspicionMult = 2
	}
	g := a.cfg.GossipLAN
	if g.ProbeInterval > 0 {
		ml.ProbeInterval = g.ProbeInterval
	}
	if g.ProbeTimeout > 0 {
		ml.ProbeTimeout = g.ProbeTimeout
	}
	if g.GossipInterval > 0 {
		ml.GossipInterval = g.GossipInterval
	}
	if g.SuspicionMult > 0 {
		ml.SuspicionMult = g.SuspicionMult
	}
	if g.RetransmitMult > 0 {
		ml.RetransmitMult = g.RetransmitMult
	}
	conf.MemberlistConfig = ml
	s, err := serf.Create(conf)
	if err != nil {
		return fmt.Errorf("start gossip on %s:%d: %w", a.cfg.BindAddr, a.cfg.SerfLANPort, err)
	}
	a.serf = s
	a.serfStarted = time.Now()
	a.wg.Add(1)
	go a.serfEventLoop()
	return nil
}

func (a *Agent) serfTags() map[string]string {
	tags := map[string]string{
		"dc": a.cfg.Datacenter, "id": a.cfg.NodeID, "vsn": "2", "vsn_min": "2", "vsn_max": "3",
		"build": a.version() + ":" + Revision, "segment": "",
	}
	if a.cfg.Server {
		tags["role"] = "consul"
		tags["port"] = strconv.Itoa(a.ServerPort())
		tags["raft_vsn"] = "3"
		tags["expect"] = strconv.Itoa(a.cfg.BootstrapExpect)
		if a.cfg.Bootstrap {
			tags["bootstrap"] = "1"
		}
	} else {
		tags["role"] = "node"
	}
	return tags
}

// ServerPort is the bound server (Raft + RPC) port.
func (a *Agent) ServerPort() int {
	if a.mux != nil {
		return a.mux.Addr().(*net.TCPAddr).Port
	}
	return a.cfg.ServerPort
}

func (a *Agent) serfEventLoop() {
	defer a.wg.Done()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-a.ctx.Done():
			return
		case ev := <-a.serfEvents:
			me, ok := ev.(serf.MemberEvent)
			if !ok {
				continue
			}
			a.onMemberEvent(me)
		case <-tick.C:
		}
		if a.cfg.Server {
			a.maybeBootstrap()
			select {
			case a.reconcileCh <- struct{}{}:
			default:
			}
		}
	}
}

// onMemberEvent remembers reaped members for the leader, and makes an
// agent re-sync when a server (re)appears (as Consul's ServerUp), so that a
// restarted cluster gets this node's services back at once.
func (a *Agent) onMemberEvent(me serf.MemberEvent) {
	for _, m := range me.Members {
		switch me.Type {
		case serf.EventMemberReap:
			if m.Tags["dc"] == a.cfg.Datacenter {
				a.reapMu.Lock()
				a.reaped[m.Name] = m.Tags["id"]
				a.reapMu.Unlock()
			}
		case serf.EventMemberJoin:
			if m.Tags["role"] == "consul" && m.Name != a.cfg.NodeName {
				a.kick()
			}
		}
	}
}

// serverMember is a server as gossip describes it.
type serverMember struct {
	name, id, addr string // addr: server-port address
	expect         int
	status         serf.MemberStatus
}

func (a *Agent) serverMembers() []serverMember {
	if a.serf == nil {
		return nil
	}
	var out []serverMember
	for _, m := range a.serf.Members() {
		if m.Tags["role"] != "consul" || m.Tags["dc"] != a.cfg.Datacenter {
			continue
		}
		port, err := strconv.Atoi(m.Tags["port"])
		if err != nil {
			continue
		}
		expect, _ := strconv.Atoi(m.Tags["expect"])
		out = append(out, serverMember{name: m.Name, id: m.Tags["id"], addr: net.JoinHostPort(m.Addr.String(), strconv.Itoa(port)),
			expect: expect, status: m.Status})
	}
	return out
}

// maybeBootstrap forms the cluster once -bootstrap-expect servers know each
// other. All of them bootstrap with the same sorted voter list, so there is
// exactly one configuration; a server with Raft state never bootstraps, and
// none does while any peer reports an existing configuration (so a fresh
// server joining a running cluster waits to be added instead).
func (a *Agent) maybeBootstrap() {
	if a.cfg.BootstrapExpect < 2 || a.bootstrapped.Load() || a.store == nil {
		return
	}
	if has, err := a.store.HasExistingState(); err != nil || has {
		a.bootstrapped.Store(has)
		return
	}
	var servers []serverMember
	for _, m := range a.serverMembers() {
		if m.status != serf.StatusAlive {
			continue
		}
		if m.expect != 0 && m.expect != a.cfg.BootstrapExpect {
			a.logger.Error("servers disagree on bootstrap_expect; not bootstrapping", "server", m.name, "expect", m.expect, "ours", a.cfg.BootstrapExpect)
			return
		}
		servers = append(servers, m)
	}
	if len(servers) < a.cfg.BootstrapExpect {
		return
	}
	ctx, cancel := context.WithTimeout(a.ctx, 5*time.Second)
	defer cancel()
	for _, m := range servers {
		if m.id == a.cfg.NodeID {
			continue
		}
		peers, err := a.backend.PeersAt(ctx, m.addr)
		if err != nil {
			a.logger.Debug("bootstrap: cannot ask server for its peers yet", "server", m.name, "error", err)
			return
		}
		if len(peers) > 0 {
			a.logger.Info("bootstrap: an existing cluster was found; waiting to be added", "server", m.name)
			a.bootstrapped.Store(true)
			return
		}
	}
	sort.Slice(servers, func(i, j int) bool { return servers[i].id < servers[j].id })
	var infos []raftstore.ServerInfo
	for _, m := range servers {
		infos = append(infos, raftstore.ServerInfo{ID: m.id, Address: m.addr, Voter: true})
	}
	if err := a.store.BootstrapCluster(infos); err != nil {
		a.logger.Error("bootstrap failed", "error", err)
		return
	}
	a.bootstrapped.Store(true)
	a.logger.Info("cluster bootstrapped", "servers", len(infos))
}

// nodeNameOf names a server by its node ID, from gossip.
func (a *Agent) nodeNameOf(id string) string {
	for _, m := range a.serverMembers() {
		if m.id == id {
			return m.name
		}
	}
	return ""
}

// Router methods (for internal/rpc's Forwarder).

// IsServer reports whether this agent runs Raft.
func (a *Agent) IsServer() bool { return a.cfg.Server }

// IsLeader reports whether this agent is the Raft leader.
func (a *Agent) IsLeader() bool { return a.store != nil && a.store.IsLeader() }

// LeaderAddr is the leader's server-port address.
func (a *Agent) LeaderAddr() string {
	if a.store == nil {
		return ""
	}
	return a.store.Leader()
}

// ServerAddrs lists alive servers' server-port addresses.
func (a *Agent) ServerAddrs() []string {
	var out []string
	for _, m := range a.serverMembers() {
		if m.status == serf.StatusAlive {
			out = append(out, m.addr)
		}
	}
	return out
}

// Members lists the LAN gossip members.
func (a *Agent) Members() []structs.AgentMember {
	if a.serf == nil {
		return []structs.AgentMember{a.member()}
	}
	var out []structs.AgentMember
	for _, m := range a.serf.Members() {
		out = append(out, structs.AgentMember{
			Name: m.Name, Addr: m.Addr.String(), Port: m.Port, Tags: m.Tags, Status: int(m.Status),
			ProtocolMin: m.ProtocolMin, ProtocolMax: m.ProtocolMax, ProtocolCur: m.ProtocolCur,
			DelegateMin: m.DelegateMin, DelegateMax: m.DelegateMax, DelegateCur: m.DelegateCur,
		})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Join joins the LAN pool through addr (host or host:port).
func (a *Agent) Join(ctx context.Context, addr string, wan bool) (int, error) {
	if wan {
		return 0, structs.BadRequest("WAN federation is not supported by minconsul")
	}
	if addr == "" {
		return 0, structs.BadRequest("Missing address to join")
	}
	if a.serf == nil {
		return 0, structs.BadRequest("this -dev agent runs without gossip (start it with -server-port or -join to cluster)")
	}
	n, err := a.serf.Join([]string{addr}, true)
	if err != nil {
		return n, fmt.Errorf("join %s: %w", addr, err)
	}
	a.logger.Info("joined", "address", addr, "members", n)
	return n, nil
}

// ForceLeave moves a failed member to left, so the leader removes it from
// the catalog (and from Raft, for a server).
func (a *Agent) ForceLeave(ctx context.Context, node string) error {
	if node == "" {
		return structs.BadRequest("Missing node name")
	}
	if a.serf == nil {
		return structs.BadRequest("this -dev agent runs without gossip; there is no member to force out")
	}
	if err := a.serf.RemoveFailedNode(node); err != nil {
		return fmt.Errorf("force-leave %s: %w", node, err)
	}
	return nil
}

// retryJoin keeps trying -retry-join addresses with backoff until one works.
func (a *Agent) retryJoin(addrs []string) {
	defer a.wg.Done()
	wait := 200 * time.Millisecond
	for {
		n, err := a.serf.Join(addrs, true)
		if err == nil && n > 0 {
			a.logger.Info("retry-join succeeded", "members", n)
			return
		}
		a.logger.Warn("retry-join failed; will retry", "addresses", strings.Join(addrs, ","), "error", err, "in", wait)
		select {
		case <-a.ctx.Done():
			return
		case <-time.After(wait):
		}
		wait = min(wait*2, a.retryMax())
	}
}

func (a *Agent) retryMax() time.Duration {
	if a.cfg.RetryInterval > 0 {
		return a.cfg.RetryInterval
	}
	return 30 * time.Second
}
