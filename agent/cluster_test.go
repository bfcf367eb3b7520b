package agent_test

import (
	"fmt"
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

func TestCluster_ThreeServers(t *testing.T) {
	agents := startCluster(t, 3)
	leader := leaderOf(t, agents)
	var follower *testutil.TestAgent
	for _, a := range agents {
		if a != leader {
			follower = a
			break
		}
	}
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
			r := dnsQuery(t, a.DNSAddr(), "web.service.consul", dns.TypeSRV)
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
