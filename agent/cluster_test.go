package agent_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"
	"github.com/miekg/dns"
	"github.com/minconsul/minconsul/agent"
	"github.com/minconsul/minconsul/testutil"
)

// startCluster starts n servers with -bootstrap-expect n, joined through
// the first one's gossip address, each on its own 127.0.0.x address.
func startCluster(t *testing.T, n int) []*testutil.TestAgent {
	t.Helper()
	var agents []*testutil.TestAgent
	var join string
	for i := 0; i < n; i++ {
		ip := fmt.Sprintf("127.0.0.%d", 10+i)
		a := testutil.StartAgentNoWait(t, testutil.Options{NodeName: fmt.Sprintf("s%d", i+1), DataDir: t.TempDir(),
			Mutate: func(c *agent.Config) {
				c.Bootstrap, c.BootstrapExpect = false, n
				c.BindAddr, c.AdvertiseAddr = ip, ip
				c.HTTPAddr, c.DNSAddr = ip+":0", ip+":0"
				c.GossipFast = true
				if join != "" {
					c.RetryJoin = []string{join}
				}
			}})
		if join == "" {
			join = a.SerfAddr()
		}
		agents = append(agents, a)
	}
	for _, a := range agents {
		a.WaitReady(t)
	}
	return agents
}

func leaderOf(t *testing.T, agents []*testutil.TestAgent) *testutil.TestAgent {
	t.Helper()
	var leader *testutil.TestAgent
	testutil.Retry(t, 15*time.Second, func() error {
		for _, a := range agents {
			if a.IsLeader() {
				leader = a
				return nil
			}
		}
		return fmt.Errorf("no leader")
	})
	return leader
}

// followersOf is every agent but leader.
func followersOf(agents []*testutil.TestAgent, leader *testutil.TestAgent) []*testutil.TestAgent {
	var out []*testutil.TestAgent
	for _, a := range agents {
		if a != leader {
			out = append(out, a)
		}
	}
	return out
}

func TestCluster_ThreeServers(t *testing.T) {
	agents := startCluster(t, 3)
	leader := leaderOf(t, agents)
	follower := followersOf(agents, leader)[0]
	c := client(t, follower)
	testutil.Retry(t, 10*time.Second, func() error {
		peers, err := c.Status().Peers()
		if err != nil || len(peers) != 3 {
			return fmt.Errorf("peers %v %v", peers, err)
		}
		members, err := c.Agent().Members(false)
		if err != nil || len(members) != 3 {
			return fmt.Errorf("members %v", err)
		}
		nodes, _, err := c.Catalog().Nodes(nil)
		if err != nil || len(nodes) != 3 {
			return fmt.Errorf("catalog nodes %d %v", len(nodes), err)
		}
		return nil
	})
	// Writes and default reads through a follower are forwarded.
	if _, err := c.KV().Put(&api.KVPair{Key: "k", Value: []byte("v")}, nil); err != nil {
		t.Fatal(err)
	}
	p, meta, err := c.KV().Get("k", nil)
	if err != nil || p == nil || string(p.Value) != "v" || !meta.KnownLeader {
		t.Fatalf("get via follower: %v %+v %+v", err, p, meta)
	}
	// A service on a follower shows up in every server's DNS.
	if err := c.Agent().ServiceRegister(&api.AgentServiceRegistration{Name: "web", Port: 80}); err != nil {
		t.Fatal(err)
	}
	for _, a := range agents {
		testutil.Retry(t, 10*time.Second, func() error {
			r := testutil.DNSQuery(t, a.DNSAddr(), "web.service.consul", dns.TypeSRV)
			if len(r.Answer) != 1 {
				return fmt.Errorf("%s: %v", a.NodeName(), r.Answer)
			}
			return nil
		})
	}

	// Kill the leader: the others elect a new one and writes continue.
	old := leader
	_ = old.Shutdown()
	rest := []*testutil.TestAgent{}
	for _, a := range agents {
		if a != old {
			rest = append(rest, a)
		}
	}
	newLeader := leaderOf(t, rest)
	c2 := client(t, rest[0])
	testutil.Retry(t, 15*time.Second, func() error {
		_, err := c2.KV().Put(&api.KVPair{Key: "after", Value: []byte("x")}, nil)
		return err
	})
	// The dead node's serfHealth turns critical.
	testutil.Retry(t, 15*time.Second, func() error {
		checks, _, err := client(t, newLeader).Health().Node(old.NodeName(), nil)
		if err != nil {
			return err
		}
		for _, ch := range checks {
			if ch.CheckID == "serfHealth" && ch.Status == "critical" {
				return nil
			}
		}
		return fmt.Errorf("serfHealth of %s: %+v", old.NodeName(), checks)
	})
}

// A client agent holds no state: its API and DNS answer through the
// servers, and its services reach the catalog by anti-entropy.
func TestCluster_ClientAgent(t *testing.T) {
	servers := startCluster(t, 3)
	cl := testutil.StartAgentNoWait(t, testutil.Options{NodeName: "client1", Mutate: func(c *agent.Config) {
		c.Dev, c.DataDir = false, t.TempDir()
		c.Server, c.Bootstrap = false, false
		c.BindAddr, c.AdvertiseAddr = "127.0.0.20", "127.0.0.20"
		c.HTTPAddr, c.DNSAddr = "127.0.0.20:0", "127.0.0.20:0"
		c.GossipFast = true
		c.StartJoin = []string{servers[0].SerfAddr()}
	}})
	cl.WaitReady(t)
	c := client(t, cl)
	if err := c.Agent().ServiceRegister(&api.AgentServiceRegistration{Name: "api", Port: 9000,
		Check: &api.AgentServiceCheck{TTL: "30s", Status: api.HealthPassing}}); err != nil {
		t.Fatal(err)
	}
	rows, _, err := c.Catalog().Service("api", "", nil)
	if err != nil || len(rows) != 1 || rows[0].Node != "client1" || rows[0].Address != "127.0.0.20" {
		t.Fatalf("catalog via client: %v %+v", err, rows)
	}
	if _, err := c.KV().Put(&api.KVPair{Key: "from-client", Value: []byte("1")}, nil); err != nil {
		t.Fatal(err)
	}
	p, _, err := client(t, servers[2]).KV().Get("from-client", &api.QueryOptions{AllowStale: true})
	if err != nil {
		t.Fatal(err)
	}
	_ = p // replicated asynchronously to followers; the consistent read below is the real check
	if p, _, err := client(t, servers[2]).KV().Get("from-client", &api.QueryOptions{RequireConsistent: true}); err != nil || p == nil {
		t.Fatalf("consistent read on a server: %v %+v", err, p)
	}
	r := testutil.DNSQuery(t, cl.DNSAddr(), "api.service.consul", dns.TypeSRV)
	if len(r.Answer) != 1 || r.Answer[0].(*dns.SRV).Port != 9000 {
		t.Fatalf("client DNS: %v", r)
	}
	members, err := c.Agent().Members(false)
	if err != nil || len(members) != 4 {
		t.Fatalf("members from client: %v %d", err, len(members))
	}
	// Blocking query through the client is forwarded and woken.
	_, meta, err := c.KV().Get("from-client", nil)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan string, 1)
	go func() {
		p, _, _ := c.KV().Get("from-client", &api.QueryOptions{WaitIndex: meta.LastIndex, WaitTime: time.Minute})
		if p != nil {
			done <- string(p.Value)
		} else {
			done <- ""
		}
	}()
	if _, err := client(t, servers[1]).KV().Put(&api.KVPair{Key: "from-client", Value: []byte("2")}, nil); err != nil {
		t.Fatal(err)
	}
	select {
	case v := <-done:
		if v != "2" {
			t.Fatalf("blocking query through client woke with %q", v)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("blocking query through the client agent not woken")
	}
}

// A graceful leave of a server (a follower, then the leader itself)
// shrinks the Raft peers.
func TestCluster_GracefulLeave(t *testing.T) {
	for _, leaveLeader := range []bool{false, true} {
		t.Run(fmt.Sprintf("leader=%v", leaveLeader), func(t *testing.T) { testGracefulLeave(t, leaveLeader) })
	}
}

func testGracefulLeave(t *testing.T, leaveLeader bool) {
	agents := startCluster(t, 3)
	leader := leaderOf(t, agents)
	var leaving, stay *testutil.TestAgent
	for _, a := range agents {
		if (a == leader) == leaveLeader && leaving == nil {
			leaving = a
		} else if a != leader || leaveLeader {
			stay = a
		}
	}
	if err := client(t, leaving).Agent().Leave(); err != nil {
		t.Fatal(err)
	}
	c := client(t, stay)
	testutil.Retry(t, 15*time.Second, func() error {
		peers, err := c.Status().Peers()
		if err != nil || len(peers) != 2 {
			return fmt.Errorf("peers %v %v", peers, err)
		}
		n, _, err := c.Catalog().Node(leaving.NodeName(), nil)
		if err != nil || n != nil {
			return fmt.Errorf("left node still in catalog: %v", err)
		}
		return nil
	})
	if _, err := c.KV().Put(&api.KVPair{Key: "k", Value: []byte("v")}, nil); err != nil {
		t.Fatal(err)
	}
}

// Five servers: losing two keeps the cluster writable; losing a third
// makes writes fail cleanly (500, bounded), never hang.
func TestCluster_FiveServersQuorum(t *testing.T) {
	agents := startCluster(t, 5)
	leader := leaderOf(t, agents)
	c := client(t, leader)
	testutil.Retry(t, 15*time.Second, func() error {
		peers, err := c.Status().Peers()
		if err != nil || len(peers) != 5 {
			return fmt.Errorf("peers %v %v", peers, err)
		}
		return nil
	})
	followers := followersOf(agents, leader)
	_ = followers[0].Shutdown()
	_ = followers[1].Shutdown()
	if _, err := client(t, followers[2]).KV().Put(&api.KVPair{Key: "two-down", Value: []byte("ok")}, nil); err != nil {
		t.Fatalf("write with 3 of 5 alive: %v", err)
	}
	_ = leader.Shutdown()
	start := time.Now()
	_, err := client(t, followers[2]).KV().Put(&api.KVPair{Key: "three-down", Value: []byte("no")}, nil)
	if err == nil || !strings.Contains(err.Error(), "500") {
		t.Fatalf("write with 2 of 5 alive: %v", err)
	}
	if d := time.Since(start); d > 15*time.Second {
		t.Fatalf("failed write took %v", d)
	}
	// A survivor still answers ?stale reads without a leader.
	if _, meta, err := client(t, followers[3]).KV().Get("anything", &api.QueryOptions{AllowStale: true}); err != nil || meta.KnownLeader {
		t.Fatalf("stale read on a survivor: %v %+v", err, meta)
	}
}
