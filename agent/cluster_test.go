package agent_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"
	"github.com/miekg/dns"
	"github.com/minconsul/minconsul/testutil"
	"github.com/minconsul/minconsul/testutil/testagent"
)

func TestCluster_ThreeServers(t *testing.T) {
	agents := testagent.StartCluster(t, 3)
	leader := testagent.Leader(t, agents)
	follower := testagent.Followers(agents, leader)[0]
	c := follower.Client(t)
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

	// Every server is in the consul service (port = its server port) and
	// carries Consul's node meta.
	ports := map[string]int{}
	for _, a := range agents {
		ports[a.NodeName()] = a.ServerPort()
	}
	testutil.Retry(t, 15*time.Second, func() error {
		rows, _, err := c.Catalog().Service("consul", "", nil)
		if err != nil || len(rows) != 3 {
			return fmt.Errorf("consul service: %d rows, %v", len(rows), err)
		}
		for _, r := range rows {
			if r.ServiceID != "consul" || r.ServicePort != ports[r.Node] || r.ServiceMeta["raft_version"] != "3" {
				return fmt.Errorf("consul service row %+v, want port %d", r, ports[r.Node])
			}
			if v, ok := r.NodeMeta["consul-network-segment"]; !ok || v != "" || r.NodeMeta["consul-version"] != "1.20.0" {
				return fmt.Errorf("node meta of %s: %v", r.Node, r.NodeMeta)
			}
		}
		return nil
	})
	if r := testutil.DNSQuery(t, follower.DNSAddr(), "consul.service.consul", dns.TypeA); len(r.Answer) != 3 {
		t.Fatalf("consul.service.consul: %v", r.Answer)
	}

	// Kill the leader: the others elect a new one and writes continue.
	old := leader
	_ = old.Shutdown()
	rest := []*testagent.Agent{}
	for _, a := range agents {
		if a != old {
			rest = append(rest, a)
		}
	}
	newLeader := testagent.Leader(t, rest)
	c2 := rest[0].Client(t)
	testutil.Retry(t, 15*time.Second, func() error {
		_, err := c2.KV().Put(&api.KVPair{Key: "after", Value: []byte("x")}, nil)
		return err
	})
	// The dead node's serfHealth turns critical.
	testutil.Retry(t, 15*time.Second, func() error {
		checks, _, err := newLeader.Client(t).Health().Node(old.NodeName(), nil)
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
	// The dead server drops out of consul.service.consul.
	testutil.Retry(t, 10*time.Second, func() error {
		r := testutil.DNSQuery(t, rest[0].DNSAddr(), "consul.service.consul", dns.TypeA)
		if len(r.Answer) != 2 {
			return fmt.Errorf("consul.service.consul after a kill: %v", r.Answer)
		}
		return nil
	})
}

// A client agent holds no state: its API and DNS answer through the
// servers, and its services reach the catalog by anti-entropy.
func TestCluster_ClientAgent(t *testing.T) {
	servers := testagent.StartCluster(t, 3)
	cl := testagent.StartClient(t, "client1", "127.0.0.20", servers[0])
	c := cl.Client(t)
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
	p, _, err := servers[2].Client(t).KV().Get("from-client", &api.QueryOptions{AllowStale: true})
	if err != nil {
		t.Fatal(err)
	}
	_ = p // replicated asynchronously to followers; the consistent read below is the real check
	if p, _, err := servers[2].Client(t).KV().Get("from-client", &api.QueryOptions{RequireConsistent: true}); err != nil || p == nil {
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
	if _, err := servers[1].Client(t).KV().Put(&api.KVPair{Key: "from-client", Value: []byte("2")}, nil); err != nil {
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
	agents := testagent.StartCluster(t, 3)
	leader := testagent.Leader(t, agents)
	var leaving, stay *testagent.Agent
	for _, a := range agents {
		if (a == leader) == leaveLeader && leaving == nil {
			leaving = a
		} else if a != leader || leaveLeader {
			stay = a
		}
	}
	if err := leaving.Client(t).Agent().Leave(); err != nil {
		t.Fatal(err)
	}
	c := stay.Client(t)
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
	agents := testagent.StartCluster(t, 5)
	leader := testagent.Leader(t, agents)
	c := leader.Client(t)
	testutil.Retry(t, 15*time.Second, func() error {
		peers, err := c.Status().Peers()
		if err != nil || len(peers) != 5 {
			return fmt.Errorf("peers %v %v", peers, err)
		}
		return nil
	})
	followers := testagent.Followers(agents, leader)
	_ = followers[0].Shutdown()
	_ = followers[1].Shutdown()
	if _, err := followers[2].Client(t).KV().Put(&api.KVPair{Key: "two-down", Value: []byte("ok")}, nil); err != nil {
		t.Fatalf("write with 3 of 5 alive: %v", err)
	}
	_ = leader.Shutdown()
	start := time.Now()
	_, err := followers[2].Client(t).KV().Put(&api.KVPair{Key: "three-down", Value: []byte("no")}, nil)
	if err == nil || !strings.Contains(err.Error(), "500") {
		t.Fatalf("write with 2 of 5 alive: %v", err)
	}
	if d := time.Since(start); d > 15*time.Second {
		t.Fatalf("failed write took %v", d)
	}
	// A survivor still answers ?stale reads without a leader.
	if _, meta, err := followers[3].Client(t).KV().Get("anything", &api.QueryOptions{AllowStale: true}); err != nil || meta.KnownLeader {
		t.Fatalf("stale read on a survivor: %v %+v", err, meta)
	}
}
