package local

import (
	"context"
	"sync"
	"testing"

	"github.com/hashicorp/go-hclog"
	"github.com/minconsul/minconsul/structs"
)

// emptyCatalog knows nothing of this node and records every write.
type emptyCatalog struct {
	Catalog
	mu     sync.Mutex
	writes []structs.Command
}

func (c *emptyCatalog) GetNode(context.Context, *structs.NodeSpecificRequest) (*structs.Indexed[*structs.Node], error) {
	return &structs.Indexed[*structs.Node]{}, nil
}

func (c *emptyCatalog) NodeChecks(context.Context, *structs.NodeSpecificRequest) (*structs.Indexed[structs.HealthChecks], error) {
	return &structs.Indexed[structs.HealthChecks]{}, nil
}

func (c *emptyCatalog) NodeServices(context.Context, *structs.NodeSpecificRequest) (*structs.Indexed[*structs.NodeServices], error) {
	return &structs.Indexed[*structs.NodeServices]{}, nil
}

func (c *emptyCatalog) Apply(_ context.Context, cmd structs.Command) (uint64, any, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.writes = append(c.writes, cmd)
	return 1, nil, nil
}

// take returns and forgets the writes so far.
func (c *emptyCatalog) take() []structs.Command {
	c.mu.Lock()
	defer c.mu.Unlock()
	w := c.writes
	c.writes = nil
	return w
}

// SyncChanges writes only what changed since the last sync — nothing when
// nothing did — and a change to one service's check re-registers that
// service alone; deregistrations follow removals, and a service's checks
// go with it. The first sync is a full one (the node must be there).
func TestState_SyncChangesWritesOnlyChanges(t *testing.T) {
	cat := &emptyCatalog{}
	s := New(Config{NodeName: "n1", NodeID: "id-1", Datacenter: "dc1", AdvertiseAddr: "10.0.0.1"}, cat, nil, hclog.NewNullLogger())
	t.Cleanup(s.Close)
	ctx := context.Background()
	mustOK := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	mustOK(s.AddService(&structs.ServiceDefinition{Name: "web", Port: 80, Check: &structs.CheckDefinition{TTL: "1h"}}, false, false))
	mustOK(s.AddService(&structs.ServiceDefinition{Name: "db", Port: 5432}, false, false))
	mustOK(s.AddCheck(&structs.CheckDefinition{Name: "mem", TTL: "1h"}, false))

	mustOK(s.SyncChanges(ctx))
	first := cat.take()
	if len(first) != 4 || first[0].Register == nil || first[0].Register.SkipNodeUpdate || first[0].Register.ID != "id-1" {
		t.Fatalf("first sync (full): %d writes, first %+v; want node, db, web, mem", len(first), first)
	}

	mustOK(s.SyncChanges(ctx))
	if w := cat.take(); len(w) != 0 {
		t.Fatalf("sync without changes wrote %d commands", len(w))
	}

	changed, err := s.UpdateTTL("service:web", structs.HealthPassing, "ok")
	mustOK(err)
	if !changed {
		t.Fatal("ttl update changed nothing")
	}
	mustOK(s.SyncChanges(ctx))
	w := cat.take()
	if len(w) != 1 || w[0].Register == nil || w[0].Register.Service == nil || w[0].Register.Service.ID != "web" ||
		len(w[0].Register.Checks) != 1 || w[0].Register.Checks[0].Status != structs.HealthPassing || !w[0].Register.SkipNodeUpdate {
		t.Fatalf("after a ttl update: %+v", w)
	}

	mustOK(s.RemoveCheck("mem"))
	mustOK(s.RemoveService("web"))
	mustOK(s.SyncChanges(ctx))
	w = cat.take()
	if len(w) != 2 || w[0].Deregister == nil || w[0].Deregister.ServiceID != "web" || w[1].Deregister == nil || w[1].Deregister.CheckID != "mem" {
		t.Fatalf("after removals: %+v", w)
	}
	mustOK(s.SyncChanges(ctx))
	if w := cat.take(); len(w) != 0 {
		t.Fatalf("removals synced twice: %+v", w)
	}
}
