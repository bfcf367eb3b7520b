package local

import (
	"context"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/minconsul/minconsul/structs"
)

// An output-only change is not written until check_update_interval has
// passed, then asks for a sync itself; a status change is written at once
// and ends the wait.
func TestState_OutputOnlyChangeWaits(t *testing.T) {
	cat := &emptyCatalog{}
	poked := make(chan struct{}, 8)
	s := New(Config{NodeName: "n1", NodeID: "id-1", Datacenter: "dc1", AdvertiseAddr: "10.0.0.1",
		CheckUpdateInterval: 200 * time.Millisecond}, cat, func() { poked <- struct{}{} }, hclog.NewNullLogger())
	t.Cleanup(s.Close)
	ctx := context.Background()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(s.AddCheck(&structs.CheckDefinition{Name: "mem", TTL: "1h"}, false))
	must(s.SyncChanges(ctx))
	cat.take()
	update := func(status, out string) bool {
		t.Helper()
		changed, err := s.UpdateTTL("mem", status, out)
		must(err)
		return changed
	}
	written := func() []*structs.HealthCheck {
		t.Helper()
		must(s.SyncChanges(ctx))
		var out []*structs.HealthCheck
		for _, w := range cat.take() {
			out = append(out, w.Register.Check)
		}
		return out
	}
	if !update(structs.HealthPassing, "a") {
		t.Fatal("a status change did not ask for a sync")
	}
	if w := written(); len(w) != 1 || w[0].Output != "a" {
		t.Fatalf("status change: %+v", w)
	}
	if update(structs.HealthPassing, "b") || update(structs.HealthPassing, "c") {
		t.Fatal("an output-only change asked for a sync at once")
	}
	if w := written(); len(w) != 0 {
		t.Fatalf("an output-only change was written before the interval: %+v", w)
	}
	select {
	case <-poked:
	case <-time.After(5 * time.Second):
		t.Fatal("the deferred change never asked for a sync")
	}
	if w := written(); len(w) != 1 || w[0].Output != "c" {
		t.Fatalf("after the interval: %+v", w)
	}
	// Deferred, then a status change: written at once, and the timer no
	// longer fires for it.
	update(structs.HealthPassing, "d")
	if !update(structs.HealthCritical, "e") {
		t.Fatal("a status change after a deferred one did not ask for a sync")
	}
	if w := written(); len(w) != 1 || w[0].Status != structs.HealthCritical || w[0].Output != "e" {
		t.Fatalf("status change: %+v", w)
	}
	s.mu.Lock()
	pending := s.checks["mem"].deferTimer != nil
	s.mu.Unlock()
	if pending {
		t.Fatal("a status change left the output timer running")
	}
}

// The reaper removes a service whose check has been critical longer than
// its DeregisterCriticalServiceAfter, and keeps one that recovered.
func TestState_ReapCriticalServices(t *testing.T) {
	s := New(Config{NodeName: "n1", ReapInterval: time.Hour}, &emptyCatalog{}, nil, hclog.NewNullLogger())
	t.Cleanup(s.Close)
	for _, name := range []string{"dead", "alive"} {
		if err := s.AddService(&structs.ServiceDefinition{Name: name, Check: &structs.CheckDefinition{
			TTL: "1h", DeregisterCriticalServiceAfter: "1m"}}, false, false); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.UpdateTTL("service:alive", structs.HealthPassing, ""); err != nil {
		t.Fatal(err)
	}
	s.reap(time.Now().Add(30 * time.Second))
	if len(s.Services()) != 2 {
		t.Fatal("reaped before the timeout")
	}
	s.reap(time.Now().Add(2 * time.Minute))
	if svcs := s.Services(); len(svcs) != 1 || svcs["alive"] == nil {
		t.Fatalf("after the timeout: %v", svcs)
	}
}

func TestAliasStatus(t *testing.T) {
	chk := func(node, svc, name, status, out string) *structs.HealthCheck {
		return &structs.HealthCheck{Node: node, ServiceID: svc, Name: name, Status: status, Output: out}
	}
	web := &aliasTarget{serviceID: "web"}
	for _, tc := range []struct {
		t      *aliasTarget
		list   structs.HealthChecks
		exists bool
		status string
		out    string
	}{
		{web, nil, true, structs.HealthPassing, "No checks found."},
		{web, nil, false, structs.HealthCritical, "Service web could not be found on node "},
		{web, structs.HealthChecks{chk("n", "web", "a", "passing", "")}, true, structs.HealthPassing, "All checks passing."},
		{web, structs.HealthChecks{chk("n", "web", "a", "warning", "slow"), chk("n", "", "node", "critical", "down"),
			chk("n", "web", "c", "warning", "x")}, true, structs.HealthCritical, `Aliased check "node" failing: down`},
		{web, structs.HealthChecks{chk("n", "db", "a", "critical", "")}, true, structs.HealthPassing, "No checks found."},
		{&aliasTarget{node: "n2", serviceID: "web"}, structs.HealthChecks{chk("n1", "web", "a", "critical", ""),
			chk("n2", "web", "b", "warning", "w")}, true, structs.HealthWarning, `Aliased check "b" failing: w`},
	} {
		status, out := aliasStatus(tc.t, tc.list, tc.exists)
		if status != tc.status || out != tc.out {
			t.Errorf("%+v: %s %q, want %s %q", tc.list, status, out, tc.status, tc.out)
		}
	}
}

// Check intervals below the minimum are raised to it, as Consul's 1 s.
func TestState_MinInterval(t *testing.T) {
	s := New(Config{NodeName: "n1", MinInterval: time.Second}, &emptyCatalog{}, nil, hclog.NewNullLogger())
	t.Cleanup(s.Close)
	if err := s.AddCheck(&structs.CheckDefinition{Name: "fast", TCP: "127.0.0.1:1", Interval: "100ms"}, false); err != nil {
		t.Fatal(err)
	}
	if hc := s.Checks()["fast"]; hc == nil || hc.Interval != "1s" {
		t.Fatalf("interval %+v", hc)
	}
}
