package e2e

import (
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"
	"github.com/miekg/dns"
	"github.com/minconsul/minconsul/testutil"
)

var long = flag.Bool("long", false, "run the long cluster fault variants (5 servers, repeated failovers)")

// Servers start one by one in a random order with random delays, a client
// agent registers a service through its own API, and every server has it
// in its catalog and DNS. Then every server is killed and restarted (data
// dirs kept, again in a random order): the same single cluster comes back.
func TestCluster_AnyOrderAndRestartAll(t *testing.T) {
	c := testutil.NewCluster(t, testutil.ClusterOptions{Servers: 3, Clients: 1, Shuffle: true, MaxStartDelay: 1500 * time.Millisecond})
	assertOneCluster(t, c)
	cl := c.Clients[0]
	if err := cl.Client().Agent().ServiceRegister(&api.AgentServiceRegistration{ID: "web1", Name: "web", Port: 8080, Tags: []string{"v1"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := cl.Client().KV().Put(&api.KVPair{Key: "before/restart", Value: []byte("kept")}, nil); err != nil {
		t.Fatal(err)
	}
	assertServiceEverywhere(t, c, "web", cl.Name, 8080)

	for _, s := range c.Servers {
		s.Kill()
	}
	order := slices.Clone(c.Servers)
	rand.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
	for i, s := range order {
		if i > 0 {
			<-time.After(rand.N(1500 * time.Millisecond)) // a deliberate stagger, not a wait
		}
		s.Restart()
	}
	restarted := time.Now()
	c.WaitHealthy(45 * time.Second)
	assertOneCluster(t, c)
	for _, s := range c.Servers {
		p, _, err := s.Client().KV().Get("before/restart", nil)
		if err != nil || p == nil || string(p.Value) != "kept" {
			t.Fatalf("%s: key written before the restart: %v %+v", s.Name, err, p)
		}
	}
	// The client agent stayed up: the restarted servers rediscover it by
	// gossip (its serf reconnect / push-pull, <= 30 s) and its services
	// must be in the catalog again (anti-entropy), not only after the
	// periodic full sync.
	assertServiceEverywhereWithin(t, c, "web", cl.Name, 8080, 45*time.Second)
	t.Logf("servers restarted -> client's service in every server's catalog and DNS: %v", time.Since(restarted))
	// Nothing was reaped (reconnect_timeout is 8 min): a new leader must
	// not drop servers or nodes its just-restarted gossip has not seen yet.
	for _, s := range c.Servers {
		for _, line := range strings.Split(s.Logs(), "\n") {
			if strings.Contains(line, "removing reaped") {
				t.Errorf("%s removed a member during the restart although none was reaped: %s", s.Name, line)
			}
		}
	}
}

// assertOneCluster: every server names the same single leader, and every
// server's own Raft configuration (?stale: answered locally) holds exactly
// the same 3 voters.
func assertOneCluster(t *testing.T, c *testutil.Cluster) {
	t.Helper()
	leader := c.Leader(20 * time.Second)
	want := map[string]bool{}
	for _, s := range c.Servers {
		want[s.ServerAddr()] = true
	}
	testutil.Retry(t, 15*time.Second, func() error {
		for _, s := range c.Running(c.Servers) {
			cfg, err := s.Client().Operator().RaftGetConfiguration(&api.QueryOptions{AllowStale: true})
			if err != nil {
				return fmt.Errorf("%s: %v", s.Name, err)
			}
			voters, leaders := 0, 0
			for _, srv := range cfg.Servers {
				if !want[srv.Address] {
					return fmt.Errorf("%s: unknown server %+v in its configuration", s.Name, srv)
				}
				if srv.Voter {
					voters++
				}
				if srv.Leader {
					leaders++
					if srv.Address != leader.ServerAddr() {
						return fmt.Errorf("%s: leader %s, want %s", s.Name, srv.Address, leader.ServerAddr())
					}
				}
			}
			if voters != len(c.Servers) || len(cfg.Servers) != len(c.Servers) || leaders != 1 {
				return fmt.Errorf("%s: %d voters, %d leaders: %+v", s.Name, voters, leaders, cfg.Servers)
			}
		}
		return nil
	})
}

// assertServiceEverywhere: the service is in every running server's own
// catalog (?stale) and DNS.
func assertServiceEverywhere(t *testing.T, c *testutil.Cluster, service, node string, port int) {
	t.Helper()
	assertServiceEverywhereWithin(t, c, service, node, port, 15*time.Second)
}

func assertServiceEverywhereWithin(t *testing.T, c *testutil.Cluster, service, node string, port int, d time.Duration) {
	t.Helper()
	deadline := time.Now().Add(d)
	for _, s := range c.Running(c.Servers) {
		testutil.Retry(t, time.Until(deadline), func() error {
			rows, _, err := s.Client().Catalog().Service(service, "", &api.QueryOptions{AllowStale: true})
			if err != nil || len(rows) != 1 || rows[0].Node != node || rows[0].ServicePort != port {
				return fmt.Errorf("%s catalog: %v %+v", s.Name, err, rows)
			}
			srv, err := srvRecords(s.DNSAddr(), service)
			if err != nil || len(srv) != 1 || int(srv[0].Port) != port || !strings.HasPrefix(srv[0].Target, node+".node.") {
				return fmt.Errorf("%s DNS: %v %v", s.Name, err, srv)
			}
			return nil
		})
	}
}

func srvRecords(dnsAddr, service string) ([]*dns.SRV, error) {
	m := new(dns.Msg)
	m.SetQuestion(service+".service.consul.", dns.TypeSRV)
	dc := &dns.Client{Timeout: 2 * time.Second}
	r, _, err := dc.Exchange(m, dnsAddr)
	if err != nil {
		return nil, err
	}
	var out []*dns.SRV
	for _, rr := range r.Answer {
		if s, ok := rr.(*dns.SRV); ok {
			out = append(out, s)
		}
	}
	return out, nil
}

// writer puts keys through one node until stopped and remembers every
// acknowledged write.
type writer struct {
	node    *testutil.Node
	prefix  string
	mu      sync.Mutex
	acked   map[string]string
	lastOK  time.Time
	fails   int
	stop    chan struct{}
	stopped chan struct{}
}

func startWriter(n *testutil.Node, prefix string) *writer {
	w := &writer{node: n, prefix: prefix, acked: map[string]string{}, stop: make(chan struct{}), stopped: make(chan struct{})}
	go func() {
		defer close(w.stopped)
		kv := n.ClientTimeout(10 * time.Second).KV()
		for i := 0; ; i++ {
			select {
			case <-w.stop:
				return
			default:
			}
			k, v := fmt.Sprintf("%s/%05d", prefix, i), fmt.Sprintf("v%d", i)
			_, err := kv.Put(&api.KVPair{Key: k, Value: []byte(v)}, nil)
			w.mu.Lock()
			if err == nil {
				w.acked[k], w.lastOK = v, time.Now()
			} else {
				w.fails++
			}
			w.mu.Unlock()
			if err != nil {
				select {
				case <-w.stop:
					return
				case <-time.After(20 * time.Millisecond): // back off a failing write
				}
			}
		}
	}()
	return w
}

func (w *writer) Stop() { close(w.stop); <-w.stopped }

func (w *writer) okSince(t0 time.Time) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.lastOK.After(t0)
}

// measureFailover kills the leader while writers write through the
// followers and the client agent, and returns the time from the SIGKILL
// until the first write started after it succeeds through a follower.
func measureFailover(t *testing.T, c *testutil.Cluster, round int) (time.Duration, *testutil.Node, []*writer) {
	t.Helper()
	leader := c.Leader(20 * time.Second)
	followers := c.Followers(leader)
	var writers []*writer
	for _, n := range append(followers, c.Clients...) {
		writers = append(writers, startWriter(n, fmt.Sprintf("r%d/%s", round, n.Name)))
	}
	testutil.Retry(t, 10*time.Second, func() error {
		for _, w := range writers {
			if !w.okSince(time.Time{}) {
				return fmt.Errorf("writer through %s has no acknowledged write yet", w.node.Name)
			}
		}
		return nil
	})
	kv := followers[0].ClientTimeout(30 * time.Second).KV()
	killed := time.Now()
	leader.Kill()
	var took time.Duration
	for i := 0; ; i++ {
		_, err := kv.Put(&api.KVPair{Key: fmt.Sprintf("r%d/probe/%d", round, i), Value: []byte("p")}, nil)
		if err == nil {
			took = time.Since(killed)
			break
		}
		if time.Since(killed) > 30*time.Second {
			t.Fatalf("no write through %s succeeded within 30 s of killing the leader %s: %v", followers[0].Name, leader.Name, err)
		}
		t.Logf("probe write through %s after %v: %v", followers[0].Name, time.Since(killed), err)
		<-time.After(10 * time.Millisecond) // pace a fast-failing probe
	}
	// Every writer (followers and the client agent) resumes.
	testutil.Retry(t, 15*time.Second, func() error {
		for _, w := range writers {
			if !w.okSince(killed.Add(took)) {
				return fmt.Errorf("writer through %s has not resumed", w.node.Name)
			}
		}
		return nil
	})
	return took, leader, writers
}

// Kill the leader under write load: writes resume through followers and
// the client agent; the restarted leader catches up with every
// acknowledged write.
func TestCluster_KillLeader(t *testing.T) {
	c := testutil.NewCluster(t, testutil.ClusterOptions{Servers: 3, Clients: 1})
	rounds := 1
	if *long {
		rounds = 5
	}
	var samples []time.Duration
	for r := 0; r < rounds; r++ {
		took, old, writers := measureFailover(t, c, r)
		samples = append(samples, took)
		old.Restart()
		for _, w := range writers {
			w.Stop()
		}
		acked := map[string]string{}
		for _, w := range writers {
			for k, v := range w.acked {
				acked[k] = v
			}
		}
		// The restarted node's own state (?stale) has every acknowledged write.
		kv := old.Client().KV()
		testutil.Retry(t, 20*time.Second, func() error {
			pairs, _, err := kv.List(fmt.Sprintf("r%d/", r), &api.QueryOptions{AllowStale: true})
			if err != nil {
				return err
			}
			got := map[string]string{}
			for _, p := range pairs {
				got[p.Key] = string(p.Value)
			}
			for k, v := range acked {
				if got[k] != v {
					return fmt.Errorf("%s: acknowledged %s=%q, has %q (%d acked, %d present)", old.Name, k, v, got[k], len(acked), len(got))
				}
			}
			return nil
		})
		t.Logf("round %d: killed leader %s; first follower write after %v; %d acknowledged writes all present on the restarted node",
			r, old.Name, took, len(acked))
		c.WaitHealthy(30 * time.Second)
	}
	slices.Sort(samples)
	t.Logf("leader SIGKILL -> first successful write through a follower: median %v of %d samples %v",
		samples[len(samples)/2], len(samples), samples)
}

// A minority down: the cluster serves. A majority down: writes through the
// survivor answer 500 within a bounded time. Nodes back: writes recover.
func TestCluster_MinorityMajority(t *testing.T) {
	c := testutil.NewCluster(t, testutil.ClusterOptions{Servers: 3})
	leader := c.Leader(20 * time.Second)
	f := c.Followers(leader)
	f[0].Kill()
	for i, n := range []*testutil.Node{leader, f[1]} {
		kv := n.Client().KV()
		key := fmt.Sprintf("minority/%d", i)
		if _, err := kv.Put(&api.KVPair{Key: key, Value: []byte("ok")}, nil); err != nil {
			t.Fatalf("write through %s with one server down: %v", n.Name, err)
		}
		for _, m := range []*testutil.Node{leader, f[1]} {
			p, _, err := m.Client().KV().Get(key, nil)
			if err != nil || p == nil || string(p.Value) != "ok" {
				t.Fatalf("read %s through %s: %v %+v", key, m.Name, err, p)
			}
		}
	}
	// Majority down; the survivor is the old leader (it must step down).
	f[1].Kill()
	assertWritesFail(t, leader, "majority")
	f[0].Restart()
	f[1].Restart()
	testutil.Retry(t, 30*time.Second, func() error {
		_, err := leader.ClientTimeout(10*time.Second).KV().Put(&api.KVPair{Key: "recovered", Value: []byte("yes")}, nil)
		return err
	})
	c.WaitHealthy(30 * time.Second)
	for _, n := range c.Servers {
		p, _, err := n.Client().KV().Get("minority/1", nil)
		if err != nil || p == nil || string(p.Value) != "ok" {
			t.Fatalf("after recovery, read through %s: %v %+v", n.Name, err, p)
		}
	}
}

// assertWritesFail: writes through n fail with a 500 naming the missing
// leader, each within 10 s.
func assertWritesFail(t *testing.T, n *testutil.Node, what string) {
	t.Helper()
	kv := n.ClientTimeout(30 * time.Second).KV()
	for i := 0; i < 2; i++ {
		start := time.Now()
		_, err := kv.Put(&api.KVPair{Key: fmt.Sprintf("%s/fail/%d", what, i), Value: []byte("x")}, nil)
		took := time.Since(start)
		if err == nil {
			t.Fatalf("write through %s succeeded without a quorum", n.Name)
		}
		var se api.StatusError
		if !errors.As(err, &se) {
			t.Fatalf("write through %s without a quorum: want a 500, got %v", n.Name, err)
		}
		body := strings.ToLower(se.Body)
		if se.Code != 500 || !(strings.Contains(body, "no cluster leader") ||
			strings.Contains(body, "not leader") || strings.Contains(body, "not the leader") || strings.Contains(body, "leadership lost")) {
			t.Fatalf("write through %s without a quorum: want 500 No cluster leader, got %v", n.Name, err)
		}
		if took > 10*time.Second {
			t.Fatalf("write through %s without a quorum took %v (> 10 s)", n.Name, took)
		}
		t.Logf("%s: write through %s failed after %v: %d %s", what, n.Name, took, se.Code, strings.TrimSpace(se.Body))
	}
}

// A SIGSTOPped node's services leave DNS and ?passing health (serfHealth
// critical); after SIGCONT they come back.
func TestCluster_PausedNodeLeavesDNS(t *testing.T) {
	c := testutil.NewCluster(t, testutil.ClusterOptions{Servers: 3, Clients: 1})
	cl := c.Clients[0]
	if err := cl.Client().Agent().ServiceRegister(&api.AgentServiceRegistration{ID: "db1", Name: "db", Port: 5432}); err != nil {
		t.Fatal(err)
	}
	assertServiceEverywhere(t, c, "db", cl.Name, 5432)
	s := c.Servers[0]
	cl.Stop()
	paused := time.Now()
	testutil.Retry(t, 20*time.Second, func() error {
		srv, err := srvRecords(s.DNSAddr(), "db")
		if err != nil || len(srv) != 0 {
			return fmt.Errorf("db still in DNS on %s: %v %v", s.Name, err, srv)
		}
		return nil
	})
	gone := time.Since(paused)
	t.Logf("SIGSTOP -> service out of DNS: %v", gone)
	for _, n := range c.Servers {
		testutil.Retry(t, 10*time.Second, func() error {
			rows, _, err := n.Client().Health().Service("db", "", true, &api.QueryOptions{AllowStale: true})
			if err != nil || len(rows) != 0 {
				return fmt.Errorf("%s ?passing: %v %d rows", n.Name, err, len(rows))
			}
			checks, _, err := n.Client().Health().Node(cl.Name, &api.QueryOptions{AllowStale: true})
			if err != nil {
				return err
			}
			for _, ch := range checks {
				if ch.CheckID == "serfHealth" && ch.Status == api.HealthCritical {
					if srv, err := srvRecords(n.DNSAddr(), "db"); err != nil || len(srv) != 0 {
						return fmt.Errorf("db still in DNS on %s: %v %v", n.Name, err, srv)
					}
					return nil
				}
			}
			return fmt.Errorf("%s: serfHealth of %s: %+v", n.Name, cl.Name, checks)
		})
	}
	cl.Cont()
	resumed := time.Now()
	assertServiceEverywhere(t, c, "db", cl.Name, 5432)
	rows, _, err := s.Client().Health().Service("db", "", true, nil)
	if err != nil || len(rows) != 1 {
		t.Fatalf("after SIGCONT, ?passing: %v %+v", err, rows)
	}
	t.Logf("SIGCONT -> service back in DNS on every server: %v", time.Since(resumed))
}

// `minconsul leave` on a server: the others' Raft configuration shrinks to
// 2 voters, the node leaves the catalog, and the pair still accepts writes.
func TestCluster_GracefulLeave(t *testing.T) {
	c := testutil.NewCluster(t, testutil.ClusterOptions{Servers: 3})
	leader := c.Leader(20 * time.Second)
	gone := c.Followers(leader)[0]
	gone.Leave()
	rest := c.Running(c.Servers)
	if len(rest) != 2 {
		t.Fatalf("running servers after leave: %d", len(rest))
	}
	for _, n := range rest {
		testutil.Retry(t, 15*time.Second, func() error {
			cfg, err := n.Client().Operator().RaftGetConfiguration(&api.QueryOptions{AllowStale: true})
			if err != nil {
				return err
			}
			if len(cfg.Servers) != 2 {
				return fmt.Errorf("%s: %d servers in Raft: %+v", n.Name, len(cfg.Servers), cfg.Servers)
			}
			for _, s := range cfg.Servers {
				if s.Address == gone.ServerAddr() {
					return fmt.Errorf("%s: %s still in Raft", n.Name, gone.Name)
				}
			}
			peers, err := n.Client().Status().Peers()
			if err != nil || len(peers) != 2 {
				return fmt.Errorf("%s: peers %v %v", n.Name, peers, err)
			}
			node, _, err := n.Client().Catalog().Node(gone.Name, &api.QueryOptions{AllowStale: true})
			if err != nil || node != nil {
				return fmt.Errorf("%s: %s still in the catalog: %v", n.Name, gone.Name, err)
			}
			return nil
		})
	}
	for i, n := range rest {
		if _, err := n.Client().KV().Put(&api.KVPair{Key: fmt.Sprintf("after-leave/%d", i), Value: []byte("ok")}, nil); err != nil {
			t.Fatalf("write through %s after %s left: %v", n.Name, gone.Name, err)
		}
	}
	if members, err := rest[0].Client().Agent().Members(false); err != nil {
		t.Fatal(err)
	} else {
		for _, m := range members {
			if m.Name == gone.Name && m.Status != 3 {
				t.Fatalf("%s gossip status %d, want 3 (left)", gone.Name, m.Status)
			}
		}
	}
}

// (-long) 5 servers: 2 down, the cluster serves; 3 down, writes fail
// cleanly; all back, it recovers.
func TestCluster_FiveServers(t *testing.T) {
	if !*long {
		t.Skip("5-server fault run: pass -long")
	}
	c := testutil.NewCluster(t, testutil.ClusterOptions{Servers: 5})
	leader := c.Leader(20 * time.Second)
	f := c.Followers(leader)
	f[0].Kill()
	f[1].Kill()
	for _, n := range []*testutil.Node{leader, f[2], f[3]} {
		if _, err := n.Client().KV().Put(&api.KVPair{Key: "five/" + n.Name, Value: []byte("ok")}, nil); err != nil {
			t.Fatalf("write through %s with 2 of 5 down: %v", n.Name, err)
		}
	}
	// Third one down: the leader, so the two survivors are followers.
	leader.Kill()
	assertWritesFail(t, f[2], "five")
	f[0].Restart()
	testutil.Retry(t, 30*time.Second, func() error {
		_, err := f[3].ClientTimeout(10*time.Second).KV().Put(&api.KVPair{Key: "five/recovered", Value: []byte("yes")}, nil)
		return err
	})
	f[1].Restart()
	leader.Restart()
	c.WaitHealthy(30 * time.Second)
	for _, n := range c.Servers {
		p, _, err := n.Client().KV().Get("five/"+f[3].Name, nil)
		if err != nil || p == nil || string(p.Value) != "ok" {
			t.Fatalf("read through %s after recovery: %v %+v", n.Name, err, p)
		}
	}
}

// A client agent keeps working across a leader change: a service
// registered on it after the leader died reaches the catalog.
func TestCluster_ClientSurvivesLeaderChange(t *testing.T) {
	c := testutil.NewCluster(t, testutil.ClusterOptions{Servers: 3, Clients: 1})
	cl := c.Clients[0]
	leader := c.Leader(20 * time.Second)
	leader.Kill()
	killed := time.Now()
	if err := cl.Client().Agent().ServiceRegister(&api.AgentServiceRegistration{ID: "late1", Name: "late", Port: 7000}); err != nil {
		t.Fatalf("register on the client right after the leader died: %v", err)
	}
	assertServiceEverywhere(t, c, "late", cl.Name, 7000)
	t.Logf("leader SIGKILL -> service registered on the client visible on every server: %v", time.Since(killed))
	// Reads and writes through the client work with the new leader.
	if _, err := cl.Client().KV().Put(&api.KVPair{Key: "via-client", Value: []byte("ok")}, nil); err != nil {
		t.Fatal(err)
	}
	p, _, err := cl.Client().KV().Get("via-client", nil)
	if err != nil || p == nil || string(p.Value) != "ok" {
		t.Fatalf("read through the client: %v %+v", err, p)
	}
	// The old leader returns; the client's service is still registered.
	leader.Restart()
	c.WaitHealthy(30 * time.Second)
	assertServiceEverywhere(t, c, "late", cl.Name, 7000)
}
