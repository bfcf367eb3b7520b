package agent_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"
	"github.com/hashicorp/serf/coordinate"

	"github.com/minconsul/minconsul/testutil"
	"github.com/minconsul/minconsul/testutil/testagent"
)

func coordAt(x float64) *coordinate.Coordinate {
	c := coordinate.NewCoordinate(coordinate.DefaultConfig())
	c.Vec[0] = x
	return c
}

// Agents (three servers, a client) send their gossip coordinates to the
// servers: /v1/coordinate/nodes lists all four, /node/<n> one, datacenters
// the servers. Coordinates written with PUT /v1/coordinate/update order
// ?near answers of the catalog and health endpoints; rtt estimates from
// them.
func TestCoordinates_GossipNearAndRTT(t *testing.T) {
	servers := testagent.StartCluster(t, 3)
	client := testagent.StartClient(t, "c1", "127.0.0.20", servers[0])
	c := client.Client(t)
	testutil.Retry(t, 20*time.Second, func() error {
		entries, meta, err := c.Coordinate().Nodes(nil)
		if err != nil {
			return err
		}
		var names []string
		for _, e := range entries {
			if e.Coord == nil || len(e.Coord.Vec) != 8 {
				return fmt.Errorf("bad entry %+v", e)
			}
			names = append(names, e.Node)
		}
		if !slices.Equal(names, []string{"c1", "s1", "s2", "s3"}) || meta.LastIndex == 0 {
			return fmt.Errorf("coordinates of %v (index %d)", names, meta.LastIndex)
		}
		return nil
	})
	if e, _, err := c.Coordinate().Node("s2", nil); err != nil || len(e) != 1 || e[0].Node != "s2" {
		t.Fatalf("node s2: %+v %v", e, err)
	}
	if _, _, err := c.Coordinate().Node("nope", nil); err == nil || !strings.Contains(err.Error(), "404") {
		t.Fatalf("unknown node: %v", err)
	}
	// A stale read of the stored coordinates and this agent's gossip view
	// of the servers: both catch up shortly after the strong reads above.
	testutil.Retry(t, 10*time.Second, func() error {
		dcs, err := c.Coordinate().Datacenters()
		if err != nil || len(dcs) != 1 || dcs[0].Datacenter != "dc1" || dcs[0].AreaID != "wan" || len(dcs[0].Coordinates) != 3 ||
			dcs[0].Coordinates[0].Node != "s1.dc1" {
			return fmt.Errorf("datacenters: %+v %v", dcs, err)
		}
		return nil
	})
	self, err := c.Agent().Self()
	if err != nil || self["Coord"] == nil {
		t.Fatalf("self Coord: %v %v", self["Coord"], err)
	}
	// A client agent's Stats: its known servers and the LAN pool.
	consul, _ := self["Stats"]["consul"].(map[string]any)
	serfLAN, _ := self["Stats"]["serf_lan"].(map[string]any)
	if consul["known_servers"] != "3" || consul["leader"] != nil || serfLAN["members"] != "4" {
		t.Fatalf("client Stats: consul %v serf_lan %v", consul, serfLAN)
	}

	// Catalog-only nodes with coordinates at known distances from "src".
	dist := map[string]float64{"src": 0, "n1": 0.05, "n2": 0.01, "n3": 0.2}
	for _, n := range []string{"src", "n1", "n2", "n3", "n4"} {
		if _, err := c.Catalog().Register(&api.CatalogRegistration{Node: n, Address: "10.0.0.1",
			Service: &api.AgentService{ID: "geo", Service: "geo", Port: 1},
			Check:   &api.AgentCheck{CheckID: "geo", Name: "geo", Status: api.HealthPassing, ServiceID: "geo"}}, nil); err != nil {
			t.Fatal(err)
		}
		if d, ok := dist[n]; ok {
			if _, err := c.Coordinate().Update(&api.CoordinateEntry{Node: n, Coord: coordAt(d)}, nil); err != nil {
				t.Fatal(err)
			}
		}
	}
	want := []string{"src", "n2", "n1", "n3", "n4"} // n4 has no coordinate: last
	testutil.Retry(t, 10*time.Second, func() error {
		svc, _, err := c.Catalog().Service("geo", "", &api.QueryOptions{Near: "src"})
		if err != nil {
			return err
		}
		var got []string
		for _, s := range svc {
			got = append(got, s.Node)
		}
		if !slices.Equal(got, want) {
			return fmt.Errorf("catalog ?near=src: %v, want %v", got, want)
		}
		return nil
	})
	entries, _, err := c.Health().Service("geo", "", false, &api.QueryOptions{Near: "src"})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		got = append(got, e.Node.Node)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("health ?near=src: %v, want %v", got, want)
	}
	checks, _, err := c.Health().Checks("geo", &api.QueryOptions{Near: "src"})
	got = got[:0]
	for _, ch := range checks {
		got = append(got, ch.Node)
	}
	if err != nil || !slices.Equal(got, want) {
		t.Fatalf("health checks ?near=src: %v %v, want %v", got, err, want)
	}
	nodes, _, err := c.Catalog().Nodes(&api.QueryOptions{Near: "n3"})
	if err != nil || len(nodes) != 9 || nodes[0].Node != "n3" || nodes[1].Node != "n1" {
		t.Fatalf("nodes ?near=n3: %v %v", nodes, err)
	}
	// ?near=_agent is the agent's own node; an unknown source sorts nothing.
	a1, _, _ := c.Catalog().Nodes(&api.QueryOptions{Near: "_agent"})
	a2, _, _ := c.Catalog().Nodes(&api.QueryOptions{Near: "c1"})
	plain, _, _ := c.Catalog().Nodes(nil)
	unknown, _, _ := c.Catalog().Nodes(&api.QueryOptions{Near: "ghost"})
	names := func(ns []*api.Node) (out []string) {
		for _, n := range ns {
			out = append(out, n.Node)
		}
		return out
	}
	if !slices.Equal(names(a1), names(a2)) || !slices.Equal(names(unknown), names(plain)) {
		t.Fatalf("_agent %v vs c1 %v; ghost %v vs plain %v", names(a1), names(a2), names(unknown), names(plain))
	}

	// Bad updates: Consul's messages, nothing written.
	bad := coordAt(0)
	bad.Vec = bad.Vec[:3]
	if _, err := c.Coordinate().Update(&api.CoordinateEntry{Node: "n4", Coord: bad}, nil); err == nil || !strings.Contains(err.Error(), "incompatible coordinate") {
		t.Fatalf("short vector: %v", err)
	}
	if e, _, _ := c.Coordinate().Node("n4", nil); len(e) != 0 {
		t.Fatalf("n4 got a coordinate: %+v", e)
	}
}
