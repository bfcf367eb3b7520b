package raftstore

import (
	"slices"
	"sort"
	"testing"

	"github.com/hashicorp/go-memdb"
	"github.com/minconsul/minconsul/structs"
)

// healthFixture: node1 runs web and db with one check each plus serfHealth;
// node2 runs web with a warning check and no node-level check.
func healthFixture(t *testing.T) *harness {
	h := newHarness(t)
	h.register(&structs.RegisterRequest{Node: "node1", Address: "10.0.0.1",
		Service: &structs.NodeService{ID: "web-1", Service: "web", Port: 80},
		Checks: structs.HealthChecks{
			check(structs.SerfCheckID, "", structs.HealthPassing),
			check("web-1-http", "web-1", structs.HealthPassing),
		}})
	h.register(&structs.RegisterRequest{Node: "node1", Address: "10.0.0.1",
		Service: &structs.NodeService{ID: "db", Service: "db", Port: 5432},
		Check:   check("db-tcp", "db", structs.HealthCritical)})
	h.register(&structs.RegisterRequest{Node: "node2", Address: "10.0.0.2",
		Service: &structs.NodeService{ID: "web-2", Service: "web", Port: 80},
		Check:   check("web-2-http", "web-2", structs.HealthWarning)})
	return h
}

func checkIDsOf(hcs structs.HealthChecks) []string {
	ids := []string{}
	for _, hc := range hcs {
		ids = append(ids, hc.Node+"/"+hc.CheckID)
	}
	sort.Strings(ids)
	return ids
}

func TestHealth_CheckServiceNodes(t *testing.T) {
	h := healthFixture(t)
	_, csns, err := h.state().CheckServiceNodes(nil, &structs.ServiceSpecificRequest{ServiceName: "web"})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string][]string{}
	status := map[string]string{}
	for _, csn := range csns {
		if csn.Node == nil || csn.Service == nil {
			t.Fatalf("row without node or service: %+v", csn)
		}
		got[csn.Node.Node+"/"+csn.Service.ID] = checkIDsOf(csn.Checks)
		status[csn.Service.ID] = csn.Checks.AggregatedStatus()
	}
	want := map[string][]string{
		// serfHealth (node-level) is included; db-tcp (another service) is not.
		"node1/web-1": {"node1/" + structs.SerfCheckID, "node1/web-1-http"},
		"node2/web-2": {"node2/web-2-http"},
	}
	if len(got) != len(want) {
		t.Fatalf("rows = %v, want %v", got, want)
	}
	for k, w := range want {
		if !slices.Equal(got[k], w) {
			t.Fatalf("%s checks = %v, want %v", k, got[k], w)
		}
	}
	if status["web-1"] != structs.HealthPassing || status["web-2"] != structs.HealthWarning {
		t.Fatalf("aggregated status = %v", status)
	}

	_, csns, _ = h.state().CheckServiceNodes(nil, &structs.ServiceSpecificRequest{ServiceName: "db"})
	if len(csns) != 1 || csns[0].Checks.AggregatedStatus() != structs.HealthCritical ||
		!slices.Equal(checkIDsOf(csns[0].Checks), []string{"node1/db-tcp", "node1/" + structs.SerfCheckID}) {
		t.Fatalf("db rows = %+v", csns)
	}

	// A row with no checks at all has an empty (not nil) list: JSON "Checks":[].
	h.register(regService("node3", "10.0.0.3", "cache", "cache", 6379))
	_, csns, _ = h.state().CheckServiceNodes(nil, &structs.ServiceSpecificRequest{ServiceName: "cache"})
	if len(csns) != 1 || csns[0].Checks == nil || len(csns[0].Checks) != 0 {
		t.Fatalf("cache rows = %+v", csns)
	}
	if _, csns, _ = h.state().CheckServiceNodes(nil, &structs.ServiceSpecificRequest{ServiceName: "nope"}); csns == nil || len(csns) != 0 {
		t.Fatalf("unknown service: %#v, want empty list", csns)
	}
}

func TestHealth_ChecksInState(t *testing.T) {
	h := healthFixture(t)
	cases := []struct {
		state string
		want  []string
	}{
		{structs.HealthAny, []string{"node1/db-tcp", "node1/" + structs.SerfCheckID, "node1/web-1-http", "node2/web-2-http"}},
		{structs.HealthPassing, []string{"node1/" + structs.SerfCheckID, "node1/web-1-http"}},
		{structs.HealthWarning, []string{"node2/web-2-http"}},
		{structs.HealthCritical, []string{"node1/db-tcp"}},
		{structs.HealthMaint, []string{}},
	}
	for _, tc := range cases {
		t.Run(tc.state, func(t *testing.T) {
			idx, hcs, err := h.state().ChecksInState(nil, &structs.ChecksInStateRequest{State: tc.state})
			if err != nil {
				t.Fatal(err)
			}
			if got := checkIDsOf(hcs); !slices.Equal(got, tc.want) {
				t.Fatalf("ChecksInState(%s) = %v, want %v", tc.state, got, tc.want)
			}
			if hcs == nil {
				t.Fatal("nil list; want [] in JSON")
			}
			if idx != h.idx {
				t.Fatalf("index = %d, want checks table index %d", idx, h.idx)
			}
		})
	}
}

func TestHealth_NodeAndServiceChecks(t *testing.T) {
	h := healthFixture(t)
	_, hcs, _ := h.state().NodeChecks(nil, &structs.NodeSpecificRequest{Node: "node1"})
	if got := checkIDsOf(hcs); !slices.Equal(got, []string{"node1/db-tcp", "node1/" + structs.SerfCheckID, "node1/web-1-http"}) {
		t.Fatalf("NodeChecks(node1) = %v", got)
	}
	_, hcs, _ = h.state().ServiceChecks(nil, &structs.ServiceSpecificRequest{ServiceName: "web"})
	if got := checkIDsOf(hcs); !slices.Equal(got, []string{"node1/web-1-http", "node2/web-2-http"}) {
		t.Fatalf("ServiceChecks(web) = %v", got)
	}
	for _, hc := range hcs {
		if hc.ServiceName != "web" {
			t.Fatalf("check %s ServiceName = %q", hc.CheckID, hc.ServiceName)
		}
	}
	if _, hcs, _ = h.state().NodeChecks(nil, &structs.NodeSpecificRequest{Node: "nope"}); hcs == nil || len(hcs) != 0 {
		t.Fatalf("NodeChecks(nope) = %#v, want empty list", hcs)
	}
}

func TestHealth_CheckDefaults(t *testing.T) {
	h := newHarness(t)
	h.register(&structs.RegisterRequest{Node: "n", Address: "10.0.0.1",
		Check: &structs.HealthCheck{Name: "Memory"}}) // no ID, no status
	_, hcs, _ := h.state().NodeChecks(nil, &structs.NodeSpecificRequest{Node: "n"})
	if len(hcs) != 1 || hcs[0].CheckID != "Memory" || hcs[0].Status != structs.HealthCritical || hcs[0].ServiceTags == nil {
		t.Fatalf("check = %+v, want ID from name, status critical", hcs)
	}
}

func TestHealth_Watches(t *testing.T) {
	cases := []struct {
		name  string
		read  func(s *StateStore, ws memdb.WatchSet)
		req   *structs.RegisterRequest
		fires bool
	}{
		{"ChecksInState critical / check turns critical",
			func(s *StateStore, ws memdb.WatchSet) {
				s.ChecksInState(ws, &structs.ChecksInStateRequest{State: structs.HealthCritical})
			},
			&structs.RegisterRequest{Node: "node2", Address: "10.0.0.2", Check: check("web-2-http", "web-2", structs.HealthCritical)}, true},
		{"NodeChecks node2 / check on node2",
			func(s *StateStore, ws memdb.WatchSet) { s.NodeChecks(ws, &structs.NodeSpecificRequest{Node: "node2"}) },
			&structs.RegisterRequest{Node: "node2", Address: "10.0.0.2", Check: check("web-2-http", "web-2", structs.HealthPassing)}, true},
		{"NodeChecks node2 / check on node1",
			func(s *StateStore, ws memdb.WatchSet) { s.NodeChecks(ws, &structs.NodeSpecificRequest{Node: "node2"}) },
			&structs.RegisterRequest{Node: "node1", Address: "10.0.0.1", Check: check("db-tcp", "db", structs.HealthPassing)}, false},
		{"ServiceChecks web / web check",
			func(s *StateStore, ws memdb.WatchSet) {
				s.ServiceChecks(ws, &structs.ServiceSpecificRequest{ServiceName: "web"})
			},
			&structs.RegisterRequest{Node: "node1", Address: "10.0.0.1", Check: check("web-1-http", "web-1", structs.HealthWarning)}, true},
		{"ServiceChecks web / db check",
			func(s *StateStore, ws memdb.WatchSet) {
				s.ServiceChecks(ws, &structs.ServiceSpecificRequest{ServiceName: "web"})
			},
			&structs.RegisterRequest{Node: "node1", Address: "10.0.0.1", Check: check("db-tcp", "db", structs.HealthPassing)}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := healthFixture(t)
			ws := memdb.NewWatchSet()
			tc.read(h.state(), ws)
			h.register(tc.req)
			if got := fired(ws, deadlineFor(tc.fires)); got != tc.fires {
				t.Fatalf("fired = %v, want %v", got, tc.fires)
			}
		})
	}
}
