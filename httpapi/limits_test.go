package httpapi_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"

	"github.com/minconsul/minconsul/agent"
	"github.com/minconsul/minconsul/testutil/testagent"
)

func manyMeta(n int) map[string]string {
	m := map[string]string{}
	for i := 0; i < n; i++ {
		m[fmt.Sprintf("k%02d", i)] = "v"
	}
	return m
}

// TestLimits_Meta: Consul's meta limits on agent and catalog registrations,
// each a 400 with Consul's message and nothing written.
func TestLimits_Meta(t *testing.T) {
	a := testagent.Start(t, testagent.Options{NodeName: "node1"})
	c := a.Client(t)
	long := strings.Repeat("x", 513)
	for _, tc := range []struct {
		name string
		meta map[string]string
		want string
	}{
		{"65 pairs", manyMeta(65), "Invalid Service Meta: Node metadata cannot contain more than 64 key/value pairs"},
		{"reserved", map[string]string{"consul-x": "1"}, "Invalid Service Meta: Couldn't load metadata pair ('consul-x', '1'): Key prefix 'consul-' is reserved for internal use"},
		{"long value", map[string]string{"k": long}, "Value is too long (limit: 512 characters)"},
		{"long key", map[string]string{strings.Repeat("k", 129): "v"}, "Key is too long (limit: 128 characters)"},
		{"bad key", map[string]string{"a.b": "v"}, "Couldn't load metadata pair ('a.b', 'v'): Key contains invalid characters"},
	} {
		err := c.Agent().ServiceRegister(&api.AgentServiceRegistration{Name: "limited", Meta: tc.meta})
		if err == nil || !strings.Contains(err.Error(), "400") || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("agent %s: %v", tc.name, err)
		}
		_, err = c.Catalog().Register(&api.CatalogRegistration{Node: "n-" + strings.ReplaceAll(tc.name, " ", "-"), Address: "10.0.0.9",
			Service: &api.AgentService{Service: "limited", Meta: tc.meta}}, nil)
		if err == nil || !strings.Contains(err.Error(), "400") || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("catalog service %s: %v", tc.name, err)
		}
	}
	// 64 pairs at the limits are fine.
	ok := manyMeta(63)
	ok[strings.Repeat("k", 128)] = strings.Repeat("v", 512)
	if err := c.Agent().ServiceRegister(&api.AgentServiceRegistration{Name: "fits", Meta: ok}); err != nil {
		t.Fatalf("64 pairs at the limits: %v", err)
	}
	// Node meta: consul-* keys are Consul's own and allowed; sizes are not.
	_, err := c.Catalog().Register(&api.CatalogRegistration{Node: "big", Address: "10.0.0.8", NodeMeta: map[string]string{"rack": long}}, nil)
	if err == nil || !strings.Contains(err.Error(), "400 (Invalid Node Meta: Couldn't load metadata pair ('rack',") {
		t.Errorf("node meta: %v", err)
	}
	_, err = c.Catalog().Register(&api.CatalogRegistration{Node: "huge", Address: "10.0.0.8", NodeMeta: map[string]string{"rack": strings.Repeat("x", 2<<20)}}, nil)
	if err == nil || !strings.Contains(err.Error(), "413") {
		t.Errorf("2 MiB registration: %v", err)
	}
	if _, err := c.Catalog().Register(&api.CatalogRegistration{Node: "seg", Address: "10.0.0.7", NodeMeta: map[string]string{"consul-network-segment": ""}}, nil); err != nil {
		t.Errorf("consul-network-segment node meta: %v", err)
	}
	rows, _, err := c.Catalog().Service("limited", "", nil)
	if err != nil || len(rows) != 0 {
		t.Fatalf("a refused registration was written: %v %v", rows, err)
	}
	for _, n := range []string{"big", "huge"} {
		if node, _, err := c.Catalog().Node(n, nil); err != nil || node != nil {
			t.Fatalf("refused node %s written: %+v %v", n, node, err)
		}
	}
	if svcs, _ := c.Agent().Services(); svcs["limited"] != nil {
		t.Fatalf("refused agent service kept: %+v", svcs["limited"])
	}
}

func TestLimits_KVMaxValueSize(t *testing.T) {
	a := testagent.Start(t, testagent.Options{NodeName: "node1", Mutate: func(c *agent.Config) { c.KVMaxValueSize = 1024 }})
	kv := a.Client(t).KV()
	if _, err := kv.Put(&api.KVPair{Key: "fits", Value: make([]byte, 1024)}, nil); err != nil {
		t.Fatal(err)
	}
	_, err := kv.Put(&api.KVPair{Key: "big", Value: make([]byte, 1025)}, nil)
	if err == nil || !strings.Contains(err.Error(), "413 (Request body(1025 bytes) too large, max size: 1024 bytes.") {
		t.Fatalf("over kv_max_value_size: %v", err)
	}
	if p, _, err := kv.Get("big", nil); err != nil || p != nil {
		t.Fatalf("refused value written: %v %v", p, err)
	}
}

// A client agent that knows no server answers 500 No known Consul servers
// at once (reads and writes), instead of waiting out a leader wait.
func TestLimits_ClientWithoutServers(t *testing.T) {
	cl := testagent.StartNoWait(t, testagent.Options{NodeName: "lonely", DataDir: t.TempDir(), Mutate: func(c *agent.Config) {
		c.Server, c.Bootstrap, c.Dev = false, false, false
		c.BindAddr, c.AdvertiseAddr = "127.0.0.40", "127.0.0.40"
		c.HTTPAddr, c.DNSAddr = "127.0.0.40:0", "127.0.0.40:0"
	}})
	c := cl.Client(t)
	// Well under the 7 s leader wait: an answer must come from the agent
	// itself, not from the deadline.
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	_, _, err := c.KV().Get("k", (&api.QueryOptions{}).WithContext(ctx))
	if err == nil || !strings.Contains(err.Error(), "500 (No known Consul servers)") {
		t.Fatalf("read: %v", err)
	}
	_, err = c.KV().Put(&api.KVPair{Key: "k"}, (&api.WriteOptions{}).WithContext(ctx))
	if err == nil || !strings.Contains(err.Error(), "500 (No known Consul servers)") {
		t.Fatalf("write: %v", err)
	}
	_, _, err = c.Catalog().Nodes((&api.QueryOptions{AllowStale: true}).WithContext(ctx))
	if err == nil || !strings.Contains(err.Error(), "No known Consul servers") {
		t.Fatalf("stale read: %v", err)
	}
}
