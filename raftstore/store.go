package raftstore

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
	raftboltdb "github.com/hashicorp/raft-boltdb/v2"
	"github.com/minconsul/minconsul/internal/groupcommit"
	"github.com/minconsul/minconsul/internal/telemetry"
	"github.com/minconsul/minconsul/structs"
	"go.etcd.io/bbolt"
)

// Config is the raftstore's slice of the agent configuration.
type Config struct {
	NodeID   string // Raft server ID (the node's UUID)
	NodeName string // shown in /v1/operator/raft/configuration
	DataDir  string // raft.db and snapshots live in DataDir/raft
	Dev      bool   // in-memory log, stable and snapshot stores; fast timings

	// BindAddr is the TCP address of the Raft transport (host:port, port 0
	// picks one); AdvertiseAddr is what peers dial (defaults to the bound
	// address). Under Dev with no BindAddr an in-memory transport is used.
	BindAddr      string
	AdvertiseAddr string

	// Listener, when set, supplies inbound Raft connections (the Raft side
	// of the server-port mux) and Dial opens outbound ones; BindAddr is then
	// unused and AdvertiseAddr is required.
	Listener net.Listener
	Dial     func(addr string, timeout time.Duration) (net.Conn, error)

	// NodeNameOf maps another server's ID to its node name (from gossip)
	// for /v1/operator/raft/configuration.
	NodeNameOf func(id string) string

	// Metrics records Raft applies and commit times (nil: none).
	Metrics *telemetry.Metrics

	// Bootstrap makes this server a one-voter cluster when it has no state.
	Bootstrap bool

	// RaftMultiplier scales Raft's timeouts as Consul's
	// performance.raft_multiplier does (1 = fastest, the default here).
	RaftMultiplier int

	// ApplyTimeout bounds how long a write waits for Raft (and, with no
	// leader, how long before ErrNoLeader).
	ApplyTimeout time.Duration
}

// Store is a Raft node plus its FSM and state store.
type Store struct {
	cfg    Config
	logger hclog.Logger

	fsm       *FSM
	raft      *raft.Raft
	logs      raft.LogStore
	stable    raft.StableStore
	snaps     raft.SnapshotStore
	transport raft.Transport
	closers   []func() error

	verifier    verifier
	batcher     *groupcommit.Group[[]byte, kvOutcome]
	timers      sessionTimers // TTL session timers, while leading
	leaderReady atomic.Bool   // leader whose own-term barrier has applied
	parked      atomic.Int64  // blocking queries waiting for a change
	leaderCh    chan bool
	stopCh      chan struct{}
	leaderDone  chan struct{}

	shutdownOnce sync.Once
	shutdownErr  error
}

// New builds the store; Start opens the Raft node.
func New(cfg Config, logger hclog.Logger) (*Store, error) {
	if logger == nil {
		logger = hclog.NewNullLogger()
	}
	if cfg.NodeID == "" {
		return nil, errors.New("raftstore: NodeID is required")
	}
	if cfg.DataDir == "" && !cfg.Dev {
		return nil, errors.New("raftstore: DataDir is required unless Dev")
	}
	if cfg.RaftMultiplier <= 0 {
		cfg.RaftMultiplier = 1
	}
	if cfg.ApplyTimeout <= 0 {
		cfg.ApplyTimeout = 7 * time.Second
	}
	fsm, err := NewFSM(logger.Named("fsm"))
	if err != nil {
		return nil, err
	}
	return &Store{cfg: cfg, logger: logger, fsm: fsm}, nil
}

func (s *Store) raftConfig() *raft.Config {
	rc := raft.DefaultConfig()
	rc.LocalID = raft.ServerID(s.cfg.NodeID)
	rc.Logger = s.logger.Named("raft")
	m := time.Duration(s.cfg.RaftMultiplier)
	rc.HeartbeatTimeout = 1000 * time.Millisecond * m
	rc.ElectionTimeout = 1000 * time.Millisecond * m
	rc.LeaderLeaseTimeout = 500 * time.Millisecond * m
	if s.cfg.Dev {
		// A lone in-memory server: elect itself at once.
		rc.HeartbeatTimeout = 20 * time.Millisecond
		rc.ElectionTimeout = 20 * time.Millisecond
		rc.LeaderLeaseTimeout = 10 * time.Millisecond
	}
	// Group commit: let concurrent writers share one fsync.
	rc.BatchApplyCh = true
	rc.MaxAppendEntries = 512
	rc.SnapshotThreshold = 16384
	rc.SnapshotInterval = 120 * time.Second
	rc.TrailingLogs = 10240
	// Emit each Raft metric once, not also under its legacy name: the
	// replication and commit paths call them per batch.
	rc.NoLegacyTelemetry = true
	return rc
}

// Start opens the stores and transport, bootstraps when asked and there is
// no prior state, and starts the Raft node.
func (s *Store) Start(ctx context.Context) error {
	rc := s.raftConfig()
	var (
		logs   raft.LogStore
		stable raft.StableStore
		snaps  raft.SnapshotStore
	)
	if s.cfg.Dev && s.cfg.DataDir == "" {
		mem := raft.NewInmemStore()
		logs, stable, snaps = mem, mem, raft.NewInmemSnapshotStore()
	} else {
		dir := filepath.Join(s.cfg.DataDir, "raft")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("raft dir: %w", err)
		}
		// NoFreelistSync: bolt rebuilds its freelist on open instead of
		// writing it on every commit, which halves the pages each Raft
		// batch writes. Timeout: a second agent on the same data dir fails
		// fast instead of hanging on the file lock.
		bolt, err := raftboltdb.New(raftboltdb.Options{Path: filepath.Join(dir, "raft.db"),
			BoltOptions: &bbolt.Options{Timeout: time.Second, NoFreelistSync: true, FreelistType: bbolt.FreelistMapType}})
		if err != nil {
			return fmt.Errorf("open raft.db: %w", err)
		}
		s.closers = append(s.closers, bolt.Close)
		fss, err := raft.NewFileSnapshotStoreWithLogger(dir, 2, s.logger.Named("snapshot"))
		if err != nil {
			return fmt.Errorf("snapshot store: %w", err)
		}
		cache, err := raft.NewLogCache(512, bolt)
		if err != nil {
			return err
		}
		logs, stable, snaps = cache, bolt, fss
	}

	var addr raft.ServerAddress
	if s.cfg.Listener != nil {
		adv, err := net.ResolveTCPAddr("tcp", s.cfg.AdvertiseAddr)
		if err != nil {
			return fmt.Errorf("raft advertise %q: %w", s.cfg.AdvertiseAddr, err)
		}
		t := raft.NewNetworkTransportWithLogger(&streamLayer{ln: s.cfg.Listener, adv: adv, dial: s.cfg.Dial}, 3, 10*time.Second, s.logger.Named("raft-net"))
		addr, s.transport = raft.ServerAddress(adv.String()), t
		s.closers = append(s.closers, t.Close)
	} else if s.cfg.Dev && s.cfg.BindAddr == "" {
		a, t := raft.NewInmemTransport(raft.ServerAddress(s.cfg.NodeID))
		addr, s.transport = a, t
	} else {
		bind, err := net.ResolveTCPAddr("tcp", s.cfg.BindAddr)
		if err != nil {
			return fmt.Errorf("raft bind %q: %w", s.cfg.BindAddr, err)
		}
		ln, err := net.ListenTCP("tcp", bind)
		if err != nil {
			return fmt.Errorf("raft listen %q: %w", s.cfg.BindAddr, err)
		}
		adv := ln.Addr().(*net.TCPAddr)
		if s.cfg.AdvertiseAddr != "" {
			if adv, err = net.ResolveTCPAddr("tcp", s.cfg.AdvertiseAddr); err != nil {
				ln.Close()
				return fmt.Errorf("raft advertise %q: %w", s.cfg.AdvertiseAddr, err)
			}
		}
		if adv.IP.IsUnspecified() {
			ln.Close()
			return fmt.Errorf("raft advertise address %s is unspecified", adv)
		}
		t := raft.NewNetworkTransportWithLogger(&streamLayer{ln: ln, adv: adv}, 3, 10*time.Second, s.logger.Named("raft-net"))
		addr, s.transport = raft.ServerAddress(adv.String()), t
		s.closers = append(s.closers, t.Close)
	}

	// A -dev node on the in-memory transport is always a lone server.
	if s.cfg.Bootstrap || (s.cfg.Dev && s.cfg.Listener == nil && s.cfg.BindAddr == "") {
		has, err := raft.HasExistingState(logs, stable, snaps)
		if err != nil {
			return fmt.Errorf("raft state: %w", err)
		}
		if !has {
			conf := raft.Configuration{Servers: []raft.Server{{ID: rc.LocalID, Address: addr, Suffrage: raft.Voter}}}
			if err := raft.BootstrapCluster(rc, logs, stable, snaps, s.transport, conf); err != nil {
				return fmt.Errorf("bootstrap: %w", err)
			}
		}
	}
	s.logs, s.stable, s.snaps = logs, stable, snaps
	r, err := raft.NewRaft(rc, s.fsm, logs, stable, snaps, s.transport)
	if err != nil {
		return fmt.Errorf("start raft: %w", err)
	}
	s.raft = r
	s.verifier.run = func() error { return r.VerifyLeader().Error() }
	s.verifier.alone = s.soleVoter
	s.leaderCh, s.stopCh, s.leaderDone = make(chan bool, 1), make(chan struct{}), make(chan struct{})
	s.batcher = newKVBatcher(r, s.cfg.ApplyTimeout, s.cfg.Metrics, s.stopCh)
	go s.watchLeadership()
	s.logger.Info("raft started", "id", rc.LocalID, "address", addr, "data_dir", s.cfg.DataDir)
	return nil
}

// LocalAddr is the Raft address peers use for this server.
func (s *Store) LocalAddr() string {
	if s.transport == nil {
		return ""
	}
	return string(s.transport.LocalAddr())
}

// State returns the current state store for direct local reads.
func (s *Store) State() *StateStore { return s.fsm.State() }

// IsLeader reports whether this node is the Raft leader.
func (s *Store) IsLeader() bool { return s.raft != nil && s.raft.State() == raft.Leader }

// Leader returns the leader's Raft address, or "" when there is none.
func (s *Store) Leader() string {
	if s.raft == nil {
		return ""
	}
	addr, _ := s.raft.LeaderWithID()
	return string(addr)
}

// WaitForLeader blocks until a leader is known and, when this node leads,
// until its FSM has applied everything committed before it took over.
func (s *Store) WaitForLeader(ctx context.Context) error {
	t := time.NewTicker(5 * time.Millisecond)
	defer t.Stop()
	for {
		// A leader counts once its own-term barrier has applied (the same
		// readiness linearizable reads wait for, see leadership.go).
		if s.Leader() != "" && (!s.IsLeader() || s.leaderReady.Load()) {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for leader: %w", ctx.Err())
		case <-t.C:
		}
	}
}

// Apply replicates one command and returns its index and result. KV
// commands go through the batcher; the result of a KVBatch (KV writes a
// follower forwards together) is a []structs.BatchOutcome, one per element.
func (s *Store) Apply(ctx context.Context, cmd structs.Command) (uint64, any, error) {
	if s.raft == nil {
		return 0, nil, structs.ErrShutdown
	}
	timeout := s.cfg.ApplyTimeout
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) < timeout {
		timeout = time.Until(dl)
	}
	if err := s.waitLeader(ctx); err != nil {
		return 0, nil, err
	}
	if s.raft.State() != raft.Leader {
		return 0, nil, structs.ErrNotLeader
	}
	if cmd.Type == structs.KVBatch {
		return 0, s.applyForwarded(cmd.Batch), nil
	}
	// Lock delay (Consul's, checked on the leader before proposing): a
	// key released by an invalidated session cannot be locked again yet.
	if cmd.Type == structs.KVLock && cmd.KV != nil {
		if until := s.State().KVLockDelay(cmd.KV.Key); time.Now().Before(until) {
			s.logger.Debug("rejecting lock during lock-delay", "key", cmd.KV.Key, "until", until)
			return 0, false, nil
		}
	}
	buf, err := structs.Encode(&cmd)
	if err != nil {
		return 0, nil, fmt.Errorf("encode %s: %w", cmd.Type, err)
	}
	if cmd.Type.IsKV() {
		o, err := s.batcher.Do(buf)
		return kvResult(o, err)
	}
	start := time.Now()
	f := s.raft.Apply(buf, timeout)
	if err := futureError(f, s.stopCh); err != nil {
		return 0, nil, mapRaftErr(err)
	}
	raftApplied(s.cfg.Metrics, start)
	res, _ := f.Response().(applyResult)
	if res.Err != nil {
		return f.Index(), nil, res.Err
	}
	switch cmd.Type {
	case structs.SessionCreate:
		s.resetSessionTimer(cmd.Session)
	case structs.SessionDestroy:
		s.timers.clear(cmd.Session.ID)
	}
	return f.Index(), res.Value, nil
}

// applyForwarded applies the elements of a KVBatch a follower forwarded:
// each KV command joins this leader's own batching and gets its own
// outcome; anything else is refused here, whatever entry it would share.
func (s *Store) applyForwarded(elems [][]byte) []structs.BatchOutcome {
	res := make([]structs.BatchOutcome, len(elems))
	kv := make([][]byte, 0, len(elems))
	at := make([]int, 0, len(elems))
	for i, b := range elems {
		var c structs.Command
		switch err := structs.Decode(b, &c); {
		case err != nil:
			res[i].Err = decodeError(err).Err
		case !c.Type.IsKV() || c.KV == nil:
			res[i].Err = structs.BadRequest(fmt.Sprintf("%s in a KV batch", c.Type))
		default:
			kv, at = append(kv, b), append(at, i)
		}
	}
	for j, o := range s.batcher.DoAll(kv) {
		r := &res[at[j]]
		r.Index, r.Value, r.Err = kvResult(o.Val, o.Err)
	}
	return res
}

func kvResult(o kvOutcome, err error) (uint64, any, error) {
	if errors.Is(err, groupcommit.ErrClosed) {
		err = structs.ErrShutdown
	}
	if err == nil {
		err = o.res.Err
	}
	if err != nil {
		return o.idx, nil, err
	}
	return o.idx, o.res.Value, nil
}

func mapRaftErr(err error) error {
	switch {
	case errors.Is(err, raft.ErrNotLeader), errors.Is(err, raft.ErrLeadershipLost),
		errors.Is(err, raft.ErrLeadershipTransferInProgress):
		return structs.ErrNotLeader
	case errors.Is(err, raft.ErrEnqueueTimeout):
		return structs.ErrNoLeader
	case errors.Is(err, raft.ErrRaftShutdown):
		return structs.ErrShutdown
	}
	return err
}

// Peers returns the Raft addresses of the voters.
func (s *Store) Peers() ([]string, error) { return voterAddrs(s.raft) }

func voterAddrs(r *raft.Raft) ([]string, error) {
	f := r.GetConfiguration()
	if err := f.Error(); err != nil {
		return nil, err
	}
	var out []string
	for _, srv := range f.Configuration().Servers {
		if srv.Suffrage == raft.Voter {
			out = append(out, string(srv.Address))
		}
	}
	return out, nil
}

// RaftConfiguration is /v1/operator/raft/configuration.
func (s *Store) RaftConfiguration() (*structs.RaftConfigurationResponse, error) {
	f := s.raft.GetConfiguration()
	if err := f.Error(); err != nil {
		return nil, err
	}
	leader := s.Leader()
	out := &structs.RaftConfigurationResponse{Servers: []*structs.RaftServer{}, Index: f.Index()}
	for _, srv := range f.Configuration().Servers {
		name := string(srv.ID)
		if string(srv.ID) == s.cfg.NodeID {
			name = s.cfg.NodeName
		} else if s.cfg.NodeNameOf != nil {
			if n := s.cfg.NodeNameOf(string(srv.ID)); n != "" {
				name = n
			}
		}
		out.Servers = append(out.Servers, &structs.RaftServer{
			ID: string(srv.ID), Node: name, Address: string(srv.Address),
			Leader: string(srv.Address) == leader, ProtocolVersion: "3",
			Voter: srv.Suffrage == raft.Voter, LastIndex: s.raft.LastIndex(),
		})
	}
	return out, nil
}

// Stats reports Raft's counters for /v1/agent/self.
func (s *Store) Stats() map[string]string {
	if s.raft == nil {
		return map[string]string{}
	}
	return s.raft.Stats()
}

// Snapshot forces a Raft snapshot (tests, operators).
func (s *Store) Snapshot() error { return s.raft.Snapshot().Error() }

// futureError is f.Error() that gives up once stop closes: hashicorp/raft
// never answers an Apply still queued in its apply channel when it shuts
// down (only futures it has dispatched are failed), so a writer racing
// the agent's shutdown would otherwise wait forever.
func futureError(f raft.Future, stop <-chan struct{}) error {
	done := make(chan error, 1)
	go func() { done <- f.Error() }()
	select {
	case err := <-done:
		return err
	case <-stop:
		select {
		case err := <-done:
			return err
		case <-time.After(time.Second):
			return raft.ErrRaftShutdown
		}
	}
}

// Shutdown stops Raft and closes the stores. Idempotent.
func (s *Store) Shutdown() error {
	s.shutdownOnce.Do(func() {
		if s.raft != nil {
			close(s.stopCh)
			s.batcher.Close()
			s.shutdownErr = s.raft.Shutdown().Error()
			<-s.leaderDone
			s.timers.clearAll()
		}
		for i := len(s.closers) - 1; i >= 0; i-- {
			if err := s.closers[i](); err != nil && s.shutdownErr == nil {
				s.shutdownErr = err
			}
		}
	})
	return s.shutdownErr
}

// streamLayer adapts a TCP listener to raft.StreamLayer, advertising adv.
type streamLayer struct {
	ln   net.Listener
	adv  net.Addr
	dial func(addr string, timeout time.Duration) (net.Conn, error)
}

func (l *streamLayer) Accept() (net.Conn, error) { return l.ln.Accept() }
func (l *streamLayer) Close() error              { return l.ln.Close() }
func (l *streamLayer) Addr() net.Addr            { return l.adv }
func (l *streamLayer) Dial(addr raft.ServerAddress, timeout time.Duration) (net.Conn, error) {
	if l.dial != nil {
		return l.dial(string(addr), timeout)
	}
	return net.DialTimeout("tcp", string(addr), timeout)
}
