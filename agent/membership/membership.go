// Package membership is an agent's place in the cluster: its LAN gossip
// member (serf over memberlist, as Consul's LAN pool), joins and
// retry-joins, force-leave, the list of alive servers a client agent
// talks to, -bootstrap-expect (bootstrap.go), the leader's duties of
// keeping the catalog's nodes and the Raft voters in line with gossip
// (leader.go) and a graceful leave (leave.go).
//
// It writes the catalog through the backend contract and changes Raft
// membership through the raftstore; it holds no catalog state of its own.
package membership

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/memberlist"
	"github.com/hashicorp/serf/serf"
	"github.com/minconsul/minconsul/backend"
	"github.com/minconsul/minconsul/raftstore"
	"github.com/minconsul/minconsul/structs"
)

// Config is membership's slice of the agent configuration.
type Config struct {
	NodeName, NodeID, Datacenter string
	BindAddr, AdvertiseAddr      string
	SerfLANPort                  int
	DataDir                      string
	Dev                          bool
	Server, Bootstrap            bool
	BootstrapExpect              int
	// ServerPort is the bound server (Raft + RPC) port, which servers
	// announce in their tags.
	ServerPort int
	// Build is "version:revision", announced in the tags.
	Build            string
	StartJoin        []string
	RetryJoin        []string
	RetryInterval    time.Duration
	ReconnectTimeout time.Duration
	GossipFast       bool
	GossipLAN        GossipConfig

	// EncryptKey is the gossip key from encrypt / -encrypt (keyring.go);
	// EncryptPlain* relax verification (encrypt_verify_* = false).
	EncryptKey                                 []byte
	EncryptPlainIncoming, EncryptPlainOutgoing bool
}

// GossipConfig is Consul's gossip_lan block; zero fields keep memberlist's
// LAN defaults.
type GossipConfig struct {
	ProbeInterval  time.Duration
	ProbeTimeout   time.Duration
	GossipInterval time.Duration
	SuspicionMult  int
	RetransmitMult int
}

// Deps are what membership acts through.
type Deps struct {
	// Store is this server's Raft store (nil on a client agent).
	Store *raftstore.Store
	// Catalog writes the members' nodes and serfHealth checks.
	Catalog backend.Writer
	// PeersAt asks another server for its Raft voters (bootstrap-expect).
	PeersAt func(ctx context.Context, addr string) ([]string, error)
	// ServerJoined is called when another server (re)appears in gossip:
	// the catalog may have lost this node's entries (a restarted cluster).
	ServerJoined func()
	// UserEvent receives every user event gossip delivers (the encoded
	// event and serf's Lamport time), including this agent's own.
	UserEvent func(payload []byte, ltime uint64)
}

// Membership is one agent's gossip member and leader duties.
type Membership struct {
	cfg    Config
	deps   Deps
	store  *raftstore.Store
	logger hclog.Logger

	serf         *serf.Serf // nil for a lone -dev agent
	serfEvents   chan serf.Event
	serfStarted  time.Time
	reconcileCh  chan struct{}
	bootstrapped atomic.Bool
	reapMu       sync.Mutex
	reaped       map[string]string // serf-reaped member name -> node ID
	loneLTime    atomic.Uint64     // a lone agent's own event clock

	ctx  context.Context
	wg   sync.WaitGroup
	once sync.Once // Leave
	err  error     // Leave's
}

// New builds the membership of an agent; Start runs it.
func New(cfg Config, deps Deps, logger hclog.Logger) *Membership {
	return &Membership{cfg: cfg, deps: deps, store: deps.Store, logger: logger,
		serfEvents: make(chan serf.Event, 256), reconcileCh: make(chan struct{}, 1), reaped: map[string]string{}}
}

// Start joins gossip (unless lone, a -dev agent that never clusters),
// joins the -join addresses, and runs retry-join and, on a server, the
// leader duties until ctx ends. Shutdown waits for them.
func (ms *Membership) Start(ctx context.Context, lone bool) error {
	ms.ctx = ctx
	if !lone {
		if err := ms.setupSerf(); err != nil {
			return err
		}
	}
	if len(ms.cfg.StartJoin) > 0 {
		if _, err := ms.serf.Join(ms.cfg.StartJoin, true); err != nil {
			return fmt.Errorf("join %v: %w", ms.cfg.StartJoin, err)
		}
	}
	if len(ms.cfg.RetryJoin) > 0 {
		ms.wg.Add(1)
		go ms.retryJoin(ms.cfg.RetryJoin)
	}
	if ms.store != nil {
		ms.wg.Add(1)
		go ms.leaderLoop()
	}
	return nil
}

// Shutdown stops gossip without leaving. The loops end with the context
// Start was given; Wait waits for them.
func (ms *Membership) Shutdown() {
	if ms.serf != nil {
		_ = ms.serf.Shutdown()
	}
}

// Wait waits for the loops Start started.
func (ms *Membership) Wait() { ms.wg.Wait() }

// SerfAddr is the gossip address (host:port) others join.
func (ms *Membership) SerfAddr() string {
	if ms.serf == nil {
		return ""
	}
	n := ms.serf.Memberlist().LocalNode()
	return net.JoinHostPort(n.Addr.String(), strconv.Itoa(int(n.Port)))
}

// setupSerf starts this agent's LAN gossip member (memberlist under serf,
// as Consul's LAN pool). Tags carry what peers need: role, datacenter,
// node ID, server port and bootstrap expectations.
func (ms *Membership) setupSerf() error {
	conf := serf.DefaultConfig()
	conf.Init()
	conf.NodeName = ms.cfg.NodeName
	conf.Tags = ms.serfTags()
	conf.EventCh = ms.serfEvents
	std := ms.logger.Named("serf").StandardLogger(&hclog.StandardLoggerOptions{InferLevels: true})
	conf.Logger = std
	conf.ReconnectTimeout = ms.cfg.ReconnectTimeout
	if conf.ReconnectTimeout <= 0 {
		conf.ReconnectTimeout = 72 * time.Hour
	}
	conf.ReapInterval = min(15*time.Second, conf.ReconnectTimeout/2)
	conf.TombstoneTimeout = 24 * time.Hour
	conf.LeavePropagateDelay = time.Second
	if ms.cfg.DataDir != "" {
		if err := os.MkdirAll(filepath.Join(ms.cfg.DataDir, "serf"), 0o755); err != nil {
			return fmt.Errorf("serf dir: %w", err)
		}
		conf.SnapshotPath = filepath.Join(ms.cfg.DataDir, "serf", "local.snapshot")
		conf.RejoinAfterLeave = true
	}
	ml := memberlist.DefaultLANConfig()
	ml.Name = ms.cfg.NodeName
	ml.BindAddr = ms.cfg.BindAddr
	ml.BindPort = ms.cfg.SerfLANPort
	ml.AdvertiseAddr = ms.cfg.AdvertiseAddr
	ml.AdvertisePort = ms.cfg.SerfLANPort
	ml.Logger = std
	if ms.cfg.GossipFast {
		// Tests: detect failures in well under a second.
		ml.ProbeInterval = 200 * time.Millisecond
		ml.ProbeTimeout = 100 * time.Millisecond
		ml.GossipInterval = 50 * time.Millisecond
		ml.SuspicionMult = 2
	}
	g := ms.cfg.GossipLAN
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
	if err := ms.setupKeyring(conf); err != nil {
		return err
	}
	s, err := serf.Create(conf)
	if err != nil {
		return fmt.Errorf("start gossip on %s:%d: %w", ms.cfg.BindAddr, ms.cfg.SerfLANPort, err)
	}
	ms.serf = s
	ms.serfStarted = time.Now()
	ms.wg.Add(1)
	go ms.serfEventLoop()
	return nil
}

func (ms *Membership) serfTags() map[string]string {
	tags := map[string]string{
		"dc": ms.cfg.Datacenter, "id": ms.cfg.NodeID, "vsn": "2", "vsn_min": "2", "vsn_max": "3",
		"build": ms.cfg.Build, "segment": "",
	}
	if ms.cfg.Server {
		tags["role"] = "consul"
		tags["port"] = strconv.Itoa(ms.cfg.ServerPort)
		tags["raft_vsn"] = "3"
		tags["expect"] = strconv.Itoa(ms.cfg.BootstrapExpect)
		if ms.cfg.Bootstrap {
			tags["bootstrap"] = "1"
		}
	} else {
		tags["role"] = "node"
	}
	return tags
}

func (ms *Membership) serfEventLoop() {
	defer ms.wg.Done()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ms.ctx.Done():
			return
		case ev := <-ms.serfEvents:
			if ue, ok := ev.(serf.UserEvent); ok {
				ms.onUserEvent(ue)
				continue
			}
			me, ok := ev.(serf.MemberEvent)
			if !ok {
				continue
			}
			ms.onMemberEvent(me)
		case <-tick.C:
		}
		if ms.cfg.Server {
			ms.maybeBootstrap()
			select {
			case ms.reconcileCh <- struct{}{}:
			default:
			}
		}
	}
}

// onMemberEvent remembers reaped members for the leader, and makes an
// agent re-sync when a server (re)appears (as Consul's ServerUp), so that a
// restarted cluster gets this node's services back at once.
func (ms *Membership) onMemberEvent(me serf.MemberEvent) {
	for _, m := range me.Members {
		switch me.Type {
		case serf.EventMemberReap:
			if m.Tags["dc"] == ms.cfg.Datacenter {
				ms.reapMu.Lock()
				ms.reaped[m.Name] = m.Tags["id"]
				ms.reapMu.Unlock()
			}
		case serf.EventMemberJoin:
			if m.Tags["role"] == "consul" && m.Name != ms.cfg.NodeName {
				if ms.deps.ServerJoined != nil {
					ms.deps.ServerJoined()
				}
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

func (ms *Membership) serverMembers() []serverMember {
	if ms.serf == nil {
		return nil
	}
	var out []serverMember
	for _, m := range ms.serf.Members() {
		if m.Tags["role"] != "consul" || m.Tags["dc"] != ms.cfg.Datacenter {
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

// NodeNameOf names a server by its node ID, from gossip.
func (ms *Membership) NodeNameOf(id string) string {
	for _, m := range ms.serverMembers() {
		if m.id == id {
			return m.name
		}
	}
	return ""
}

// ServerAddrs lists alive servers' server-port addresses.
func (ms *Membership) ServerAddrs() []string {
	var out []string
	for _, m := range ms.serverMembers() {
		if m.status == serf.StatusAlive {
			out = append(out, m.addr)
		}
	}
	return out
}

// Members lists the LAN gossip members.
func (ms *Membership) Members() []structs.AgentMember {
	if ms.serf == nil {
		return []structs.AgentMember{ms.Member()}
	}
	var out []structs.AgentMember
	for _, m := range ms.serf.Members() {
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
func (ms *Membership) Join(ctx context.Context, addr string, wan bool) (int, error) {
	if wan {
		return 0, structs.BadRequest("WAN federation is not supported by minconsul")
	}
	if addr == "" {
		return 0, structs.BadRequest("Missing address to join")
	}
	if ms.serf == nil {
		return 0, structs.BadRequest("this -dev agent runs without gossip (start it with -server-port or -join to cluster)")
	}
	n, err := ms.serf.Join([]string{addr}, true)
	if err != nil {
		return n, fmt.Errorf("join %s: %w", addr, err)
	}
	ms.logger.Info("joined", "address", addr, "members", n)
	return n, nil
}

// ForceLeave moves a failed member to left, so the leader removes it from
// the catalog (and from Raft, for a server).
func (ms *Membership) ForceLeave(ctx context.Context, node string) error {
	if node == "" {
		return structs.BadRequest("Missing node name")
	}
	if ms.serf == nil {
		return structs.BadRequest("this -dev agent runs without gossip; there is no member to force out")
	}
	// Serf ignores a name it does not know; Consul refuses it.
	known := false
	for _, m := range ms.serf.Members() {
		known = known || m.Name == node
	}
	if !known {
		return fmt.Errorf("agent: No node found with name '%s'", node)
	}
	if err := ms.serf.RemoveFailedNode(node); err != nil {
		return fmt.Errorf("force-leave %s: %w", node, err)
	}
	return nil
}

// retryJoin keeps trying -retry-join addresses with backoff until one works.
func (ms *Membership) retryJoin(addrs []string) {
	defer ms.wg.Done()
	wait := 200 * time.Millisecond
	for {
		n, err := ms.serf.Join(addrs, true)
		if err == nil && n > 0 {
			ms.logger.Info("retry-join succeeded", "members", n)
			return
		}
		ms.logger.Warn("retry-join failed; will retry", "addresses", strings.Join(addrs, ","), "error", err, "in", wait)
		select {
		case <-ms.ctx.Done():
			return
		case <-time.After(wait):
		}
		wait = min(wait*2, ms.retryMax())
	}
}

func (ms *Membership) retryMax() time.Duration {
	if ms.cfg.RetryInterval > 0 {
		return ms.cfg.RetryInterval
	}
	return 30 * time.Second
}

// Member describes this agent as a gossip member (/v1/agent/self, and the
// whole member list of a lone agent).
func (ms *Membership) Member() structs.AgentMember {
	tags := ms.serfTags()
	if ms.cfg.Server && ms.cfg.Dev {
		tags["bootstrap"] = "1"
	}
	return structs.AgentMember{
		Name: ms.cfg.NodeName, Addr: ms.cfg.AdvertiseAddr, Port: uint16(ms.cfg.SerfLANPort), Tags: tags,
		Status: 1, ProtocolMin: 1, ProtocolMax: 5, ProtocolCur: 2, DelegateMin: 2, DelegateMax: 5, DelegateCur: 4,
	}
}
