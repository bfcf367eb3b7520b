package agent_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"

	"github.com/minconsul/minconsul/agent"
	"github.com/minconsul/minconsul/testutil"
	"github.com/minconsul/minconsul/testutil/testagent"
)

// /v1/agent/self through the official client: Config, DebugConfig (under
// Consul's names, secrets hidden), Member and Meta.
func TestAgent_Self(t *testing.T) {
	a := testagent.Start(t, testagent.Options{NodeName: "selfish", Mutate: func(c *agent.Config) {
		c.EncryptKey = make([]byte, 32)
		c.KVMaxValueSize = 2048
		c.NodeMeta = map[string]string{"rack": "r1"}
	}})
	c := a.Client(t)
	self, err := c.Agent().Self()
	if err != nil {
		t.Fatal(err)
	}
	if name, err := c.Agent().NodeName(); err != nil || name != "selfish" {
		t.Fatalf("NodeName: %q %v", name, err)
	}
	cfg, dbg, member, meta := self["Config"], self["DebugConfig"], self["Member"], self["Meta"]
	if cfg["Datacenter"] != "dc1" || cfg["Server"] != true || cfg["Version"] != "1.20.0" {
		t.Fatalf("Config: %v", cfg)
	}
	if dbg["NodeName"] != "selfish" || dbg["EncryptKey"] != "hidden" || dbg["KVMaxValueSize"] != float64(2048) ||
		dbg["ServerMode"] != true || dbg["ACLsEnabled"] != false || dbg["CheckOutputMaxSize"] != float64(4096) {
		t.Fatalf("DebugConfig: %v", dbg)
	}
	if member["Name"] != "selfish" {
		t.Fatalf("Member: %v", member)
	}
	if v, ok := meta["consul-network-segment"]; !ok || v != "" || meta["consul-version"] != cfg["Version"] || meta["rack"] != "r1" {
		t.Fatalf("Meta: %v", meta)
	}
	// The node's catalog meta is the same, once anti-entropy has written
	// it (the agent answers before its first sync).
	testutil.Retry(t, 10*time.Second, func() error {
		node, _, err := c.Catalog().Node("selfish", nil)
		if err != nil || node == nil || node.Node.Meta["consul-version"] != "1.20.0" || node.Node.Meta["rack"] != "r1" {
			return fmt.Errorf("catalog node meta: %+v %v", node, err)
		}
		return nil
	})
	nodes, _, err := c.Catalog().Nodes(&api.QueryOptions{NodeMeta: map[string]string{"rack": "r1"}, Filter: `Meta["consul-version"] == "1.20.0"`})
	if err != nil || len(nodes) != 1 {
		t.Fatalf("nodes by meta: %v %v", nodes, err)
	}
}
