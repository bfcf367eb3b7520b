package raftstore

import (
	"slices"
	"sort"
	"testing"

	"github.com/hashicorp/go-memdb"
	"github.com/minconsul/minconsul/structs"
)

func webRegistration() *structs.RegisterRequest {
	return &structs.RegisterRequest{
		Node: "node1", Address: "10.0.0.1", Datacenter: "dc1",
		TaggedAddresses: map[string]string{"wan": "198.51.100.1"},
		NodeMeta:        map[string]string{"rack": "r1"},
		Service: &structs.NodeService{ID: "web-1", Service: "web", Port: 8080, Address: "10.0.0.10",
			Tags: []string{"primary", "v1"}, Meta: map[string]string{"version": "1"}},
		Checks: structs.HealthChecks{
			check(structs.SerfCheckID, "", structs.HealthPassing),
			check("web-http", "web-1", structs.HealthCritical),
		},
	}
}

func TestCatalog_RegisterNodeServiceChecks(t *testing.T) {
	h := newHarness(t)
	h.kvSet("pad", "x")
	idx := h.register(webRegistration())
	s := h.state()

	nidx, nodes, err := s.Nodes(nil, &structs.DCSpecificRequest{})
	if err != nil || len(nodes) != 1 || nidx != idx {
		t.Fatalf("Nodes = %d %+v %v", nidx, nodes, err)
	}
	n := nodes[0]
	if n.Node != "node1" || n.Address != "10.0.0.1" || n.Datacenter != "dc1" || n.Meta["rack"] != "r1" ||
		n.TaggedAddresses["wan"] != "198.51.100.1" || n.CreateIndex != idx || n.ModifyIndex != idx {
		t.Fatalf("node = %+v", n)
	}
	// Node names are case-insensitive, as in Consul.
	if _, got, _ := s.GetNode(nil, &structs.NodeSpecificRequest{Node: "NODE1"}); got == nil || got.Node != "node1" {
		t.Fatalf("GetNode(NODE1) = %+v", got)
	}
	if _, got, _ := s.GetNode(nil, &structs.NodeSpecificRequest{Node: "node2"}); got != nil {
		t.Fatalf("GetNode(node2) = %+v, want nil", got)
	}

	_, ns, err := s.NodeServices(nil, &structs.NodeSpecificRequest{Node: "node1"})
	if err != nil || ns == nil || len(ns.Services) != 1 {
		t.Fatalf("NodeServices = %+v %v", ns, err)
	}
	svc := ns.Services["web-1"]
	if svc == nil || svc.Service != "web" || svc.Port != 8080 || svc.CreateIndex != idx ||
		svc.Weights != (structs.Weights{Passing: 1, Warning: 1}) {
		t.Fatalf("service = %+v", svc)
	}
	if _, ns, _ := s.NodeServices(nil, &structs.NodeSpecificRequest{Node: "nope"}); ns != nil {
		t.Fatalf("NodeServices(nope) = %+v, want nil", ns)
	}

	sidx, sns, err := s.ServiceNodes(nil, &structs.ServiceSpecificRequest{ServiceName: "web"})
	if err != nil || len(sns) != 1 || sidx != idx {
		t.Fatalf("ServiceNodes = %d %+v %v", sidx, sns, err)
	}
	sn := sns[0]
	if sn.Node != "node1" || sn.Address != "10.0.0.1" || sn.Datacenter != "dc1" || sn.NodeMeta["rack"] != "r1" ||
		sn.ServiceID != "web-1" || sn.ServiceName != "web" || sn.ServiceAddress != "10.0.0.10" ||
		sn.ServicePort != 8080 || !slices.Equal(sn.ServiceTags, []string{"primary", "v1"}) ||
		sn.ServiceMeta["version"] != "1" || sn.CreateIndex != idx || sn.ModifyIndex != idx {
		t.Fatalf("service node = %+v", sn)
	}
	// Service names are case-insensitive too.
	if _, sns, _ := s.ServiceNodes(nil, &structs.ServiceSpecificRequest{ServiceName: "WEB"}); len(sns) != 1 {
		t.Fatalf("ServiceNodes(WEB) = %d rows", len(sns))
	}

	_, svcs, _ := s.Services(nil, &structs.DCSpecificRequest{})
	if len(svcs) != 1 || !slices.Equal(svcs["web"], []string{"primary", "v1"}) {
		t.Fatalf("Services = %v", svcs)
	}

	_, hcs, _ := s.NodeChecks(nil, &structs.NodeSpecificRequest{Node: "node1"})
	if len(hcs) != 2 {
		t.Fatalf("NodeChecks = %+v", hcs)
	}
	for _, hc := range hcs {
		if hc.Node != "node1" || hc.CreateIndex != idx {
			t.Fatalf("check = %+v", hc)
		}
		if hc.CheckID == "web-http" && (hc.ServiceName != "web" || !slices.Equal(hc.ServiceTags, []string{"primary", "v1"})) {
			t.Fatalf("service check lacks service name/tags: %+v", hc)
		}
	}
}

func TestCatalog_ServicesUnionOfTags(t *testing.T) {
	h := newHarness(t)
	h.register(regService("n1", "10.0.0.1", "web-1", "web", 80, "b", "a"))
	h.register(regService("n2", "10.0.0.2", "web-2", "web", 80, "c", "a"))
	h.register(regService("n2", "10.0.0.2", "db", "db", 5432))
	_, svcs, err := h.state().Services(nil, &structs.DCSpecificRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(svcs["web"], []string{"a", "b", "c"}) || svcs["db"] == nil || len(svcs["db"]) != 0 {
		t.Fatalf("Services = %#v", svcs)
	}
}

func TestCatalog_ReregisterUnchangedKeepsIndexes(t *testing.T) {
	h := newHarness(t)
	first := h.register(webRegistration())
	before := dumpState(t, h.state())

	// Anti-entropy re-sends the same thing: a new Raft index, but nothing moves.
	h.register(webRegistration())
	if after := dumpState(t, h.state()); after != before {
		t.Fatalf("unchanged re-registration changed state:\n%s\n---\n%s", before, after)
	}

	// Changing only the service moves the service, not the node.
	req := webRegistration()
	req.Service.Port = 9090
	changed := h.register(req)
	_, ns, _ := h.state().NodeServices(nil, &structs.NodeSpecificRequest{Node: "node1"})
	if ns.Node.ModifyIndex != first {
		t.Fatalf("node ModifyIndex = %d, want %d", ns.Node.ModifyIndex, first)
	}
	if svc := ns.Services["web-1"]; svc.CreateIndex != first || svc.ModifyIndex != changed {
		t.Fatalf("service indexes = %d/%d, want %d/%d", svc.CreateIndex, svc.ModifyIndex, first, changed)
	}
	_, hcs, _ := h.state().NodeChecks(nil, &structs.NodeSpecificRequest{Node: "node1"})
	for _, hc := range hcs {
		if hc.ModifyIndex != first {
			t.Fatalf("check %s ModifyIndex = %d, want %d", hc.CheckID, hc.ModifyIndex, first)
		}
	}

	// Changing a check moves that check only.
	req = webRegistration()
	req.Service.Port = 9090
	req.Checks[1].Status = structs.HealthPassing
	chk := h.register(req)
	_, hcs, _ = h.state().NodeChecks(nil, &structs.NodeSpecificRequest{Node: "node1"})
	for _, hc := range hcs {
		want := first
		if hc.CheckID == "web-http" {
			want = chk
		}
		if hc.ModifyIndex != want || hc.CreateIndex != first {
			t.Fatalf("check %s indexes = %d/%d, want %d/%d", hc.CheckID, hc.CreateIndex, hc.ModifyIndex, first, want)
		}
	}
}

func TestCatalog_SkipNodeUpdate(t *testing.T) {
	h := newHarness(t)
	first := h.register(webRegistration())
	h.register(&structs.RegisterRequest{Node: "node1", SkipNodeUpdate: true,
		Service: &structs.NodeService{Service: "db", Port: 5432}})
	_, n, _ := h.state().GetNode(nil, &structs.NodeSpecificRequest{Node: "node1"})
	if n.Address != "10.0.0.1" || n.ModifyIndex != first {
		t.Fatalf("SkipNodeUpdate changed the node: %+v", n)
	}
	_, ns, _ := h.state().NodeServices(nil, &structs.NodeSpecificRequest{Node: "node1"})
	if ns.Services["db"] == nil {
		t.Fatalf("service without ID should get its name as ID: %v", ns.Services)
	}
}

func TestCatalog_ServiceNodesTags(t *testing.T) {
	h := newHarness(t)
	h.register(regService("n1", "10.0.0.1", "web", "web", 80, "Primary", "v1"))
	h.register(regService("n2", "10.0.0.2", "web", "web", 80, "secondary", "v1"))
	h.register(regService("n3", "10.0.0.3", "web", "web", 80))
	h.register(regService("n4", "10.0.0.4", "db", "db", 80, "primary"))
	cases := []struct {
		name string
		tags []string
		want []string // nodes
	}{
		{"no filter", nil, []string{"n1", "n2", "n3"}},
		{"one tag, other case", []string{"primary"}, []string{"n1"}},
		{"all tags must match", []string{"PRIMARY", "V1"}, []string{"n1"}},
		{"shared tag", []string{"v1"}, []string{"n1", "n2"}},
		{"disjoint tags", []string{"primary", "secondary"}, nil},
		{"unknown tag", []string{"nope"}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, sns, err := h.state().ServiceNodes(nil, &structs.ServiceSpecificRequest{ServiceName: "web", ServiceTags: tc.tags})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, sn := range sns {
				got = append(got, sn.Node)
			}
			sort.Strings(got)
			if !slices.Equal(got, tc.want) {
				t.Fatalf("ServiceNodes(web, %v) = %v, want %v", tc.tags, got, tc.want)
			}
			_, csns, err := h.state().CheckServiceNodes(nil, &structs.ServiceSpecificRequest{ServiceName: "web", ServiceTags: tc.tags})
			if err != nil {
				t.Fatal(err)
			}
			got = got[:0]
			for _, csn := range csns {
				got = append(got, csn.Node.Node)
			}
			sort.Strings(got)
			if !slices.Equal(got, tc.want) {
				t.Fatalf("CheckServiceNodes(web, %v) = %v, want %v", tc.tags, got, tc.want)
			}
		})
	}
}

func TestCatalog_Deregister(t *testing.T) {
	setup := func(t *testing.T) *harness {
		h := newHarness(t)
		h.register(webRegistration())
		h.register(regService("node1", "10.0.0.1", "db", "db", 5432))
		h.register(&structs.RegisterRequest{Node: "node1", Address: "10.0.0.1", Check: check("db-tcp", "db", structs.HealthPassing)})
		h.register(regService("node2", "10.0.0.2", "web-2", "web", 80))
		h.register(&structs.RegisterRequest{Node: "node2", Address: "10.0.0.2", Check: check("web-2-http", "web-2", structs.HealthPassing)})
		return h
	}
	checkIDs := func(t *testing.T, h *harness, node string) []string {
		_, hcs, err := h.state().NodeChecks(nil, &structs.NodeSpecificRequest{Node: node})
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, hc := range hcs {
			ids = append(ids, hc.CheckID)
		}
		sort.Strings(ids)
		return ids
	}

	t.Run("service removes its checks", func(t *testing.T) {
		h := setup(t)
		idx := h.deregister(&structs.DeregisterRequest{Node: "node1", ServiceID: "web-1"})
		_, ns, _ := h.state().NodeServices(nil, &structs.NodeSpecificRequest{Node: "node1"})
		if ns.Services["web-1"] != nil || ns.Services["db"] == nil {
			t.Fatalf("services left: %v", ns.Services)
		}
		if got := checkIDs(t, h, "node1"); !slices.Equal(got, []string{"db-tcp", structs.SerfCheckID}) {
			t.Fatalf("checks left on node1: %v", got)
		}
		if got := checkIDs(t, h, "node2"); !slices.Equal(got, []string{"web-2-http"}) {
			t.Fatalf("checks on node2: %v", got)
		}
		sidx, sns, _ := h.state().ServiceNodes(nil, &structs.ServiceSpecificRequest{ServiceName: "web"})
		if len(sns) != 1 || sns[0].Node != "node2" || sidx != idx {
			t.Fatalf("web after deregister: idx=%d %+v, want node2 at %d", sidx, sns, idx)
		}
	})
	t.Run("check only", func(t *testing.T) {
		h := setup(t)
		h.deregister(&structs.DeregisterRequest{Node: "node1", CheckID: "web-http"})
		if got := checkIDs(t, h, "node1"); !slices.Equal(got, []string{"db-tcp", structs.SerfCheckID}) {
			t.Fatalf("checks left on node1: %v", got)
		}
		_, ns, _ := h.state().NodeServices(nil, &structs.NodeSpecificRequest{Node: "node1"})
		if ns.Services["web-1"] == nil {
			t.Fatal("deregistering a check removed its service")
		}
	})
	t.Run("node removes everything on it", func(t *testing.T) {
		h := setup(t)
		idx := h.deregister(&structs.DeregisterRequest{Node: "NODE1"}) // case-insensitive
		if _, n, _ := h.state().GetNode(nil, &structs.NodeSpecificRequest{Node: "node1"}); n != nil {
			t.Fatalf("node still there: %+v", n)
		}
		if got := checkIDs(t, h, "node1"); len(got) != 0 {
			t.Fatalf("checks left: %v", got)
		}
		_, svcs, _ := h.state().Services(nil, &structs.DCSpecificRequest{})
		if _, ok := svcs["db"]; ok || len(svcs) != 1 {
			t.Fatalf("services left: %v", svcs)
		}
		_, all, _ := h.state().ChecksInState(nil, &structs.ChecksInStateRequest{State: structs.HealthAny})
		if len(all) != 1 || all[0].Node != "node2" {
			t.Fatalf("all checks: %+v", all)
		}
		if sidx, sns, _ := h.state().ServiceNodes(nil, &structs.ServiceSpecificRequest{ServiceName: "db"}); len(sns) != 0 || sidx != idx {
			t.Fatalf("db after node deregister: idx=%d rows=%d, want 0 rows at %d", sidx, len(sns), idx)
		}
	})
	t.Run("missing things are no-ops", func(t *testing.T) {
		h := setup(t)
		before := dumpState(t, h.state())
		for _, req := range []*structs.DeregisterRequest{
			{Node: "nope"}, {Node: "node1", ServiceID: "nope"}, {Node: "node1", CheckID: "nope"},
		} {
			h.deregister(req)
		}
		if after := dumpState(t, h.state()); after != before {
			t.Fatalf("no-op deregistrations changed state:\n%s\n---\n%s", before, after)
		}
	})
}

func TestCatalog_RegisterErrors(t *testing.T) {
	cases := []struct {
		name string
		req  *structs.RegisterRequest
	}{
		{"no node", &structs.RegisterRequest{Address: "10.0.0.9"}},
		{"new node without address", &structs.RegisterRequest{Node: "new"}},
		// Consul: "Must provide address if SkipNodeUpdate is not set", even
		// for a known node (else the node's address would be blanked).
		{"known node without address", &structs.RegisterRequest{Node: "node1",
			Service: &structs.NodeService{Service: "db", Port: 5432}}},
		{"service without name", &structs.RegisterRequest{Node: "new", Address: "10.0.0.9",
			Service: &structs.NodeService{ID: "x"}}},
		{"check without id or name", &structs.RegisterRequest{Node: "new", Address: "10.0.0.9",
			Check: &structs.HealthCheck{Status: structs.HealthPassing}}},
		{"check with bad status", &structs.RegisterRequest{Node: "new", Address: "10.0.0.9",
			Check: check("c", "", "sick")}},
		{"check for missing service", &structs.RegisterRequest{Node: "new", Address: "10.0.0.9",
			Service: &structs.NodeService{Service: "web"},
			Checks:  structs.HealthChecks{check("ok", "web", structs.HealthPassing), check("bad", "nope", structs.HealthPassing)}}},
		{"check for missing service on existing node", &structs.RegisterRequest{Node: "node1", Address: "10.9.9.9",
			Service: &structs.NodeService{ID: "web-1", Service: "web", Port: 1},
			Check:   check("bad", "nope", structs.HealthPassing)}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			h.register(webRegistration())
			before := dumpState(t, h.state())
			_, v, err := h.apply(structs.Command{Type: structs.CatalogRegister, Register: tc.req})
			if !isBadRequest(err) || v != nil {
				t.Fatalf("err = %v (value %v), want a BadRequest error", err, v)
			}
			if after := dumpState(t, h.state()); after != before {
				t.Fatalf("failed registration wrote something:\n%s\n---\n%s", before, after)
			}
		})
	}
}

// A change to one service must neither move another service's index nor
// wake a blocking query on it (Consul's per-service "service.<name>" index).
func TestCatalog_ServiceIndexIsolation(t *testing.T) {
	setup := func(t *testing.T) *harness {
		h := newHarness(t)
		h.register(regService("n1", "10.0.0.1", "a", "a", 1))
		h.register(&structs.RegisterRequest{Node: "n1", Address: "10.0.0.1", Check: check("a-chk", "a", structs.HealthPassing)})
		h.register(regService("n2", "10.0.0.2", "b", "b", 2))
		h.register(&structs.RegisterRequest{Node: "n2", Address: "10.0.0.2", Check: check("b-chk", "b", structs.HealthPassing)})
		h.register(nodeCheckReq("n2", "10.0.0.2", structs.SerfCheckID, structs.HealthPassing))
		return h
	}
	reads := []struct {
		name string
		read func(s *StateStore, ws memdb.WatchSet) uint64
	}{
		{"ServiceNodes", func(s *StateStore, ws memdb.WatchSet) uint64 {
			idx, _, err := s.ServiceNodes(ws, &structs.ServiceSpecificRequest{ServiceName: "b"})
			if err != nil {
				panic(err)
			}
			return idx
		}},
		{"CheckServiceNodes", func(s *StateStore, ws memdb.WatchSet) uint64 {
			idx, _, err := s.CheckServiceNodes(ws, &structs.ServiceSpecificRequest{ServiceName: "b"})
			if err != nil {
				panic(err)
			}
			return idx
		}},
	}
	changes := []struct {
		name  string
		req   any // *RegisterRequest or *DeregisterRequest
		wakes bool
	}{
		{"a's port", regService("n1", "10.0.0.1", "a", "a", 11), false},
		{"a's check", &structs.RegisterRequest{Node: "n1", Address: "10.0.0.1", Check: check("a-chk", "a", structs.HealthCritical)}, false},
		{"a's node address", &structs.RegisterRequest{Node: "n1", Address: "10.0.0.100"}, false},
		{"a node-level check on a's node", nodeCheckReq("n1", "10.0.0.1", structs.SerfCheckID, structs.HealthCritical), false},
		{"a deregistered", &structs.DeregisterRequest{Node: "n1", ServiceID: "a"}, false},
		{"a new service c", regService("n3", "10.0.0.3", "c", "c", 3), false},
		{"a KV write", nil, false},
		{"b's port", regService("n2", "10.0.0.2", "b", "b", 22), true},
		{"b's check", &structs.RegisterRequest{Node: "n2", Address: "10.0.0.2", Check: check("b-chk", "b", structs.HealthWarning)}, true},
		{"b's node address", &structs.RegisterRequest{Node: "n2", Address: "10.0.0.200"}, true},
		{"b's node serfHealth", nodeCheckReq("n2", "10.0.0.2", structs.SerfCheckID, structs.HealthCritical), true},
		{"b's node deregistered", &structs.DeregisterRequest{Node: "n2"}, true},
		{"second instance of b", regService("n1", "10.0.0.1", "b", "b", 2), true},
	}
	for _, rd := range reads {
		for _, ch := range changes {
			t.Run(rd.name+"/"+ch.name, func(t *testing.T) {
				h := setup(t)
				ws := memdb.NewWatchSet()
				before := rd.read(h.state(), ws)
				var idx uint64
				switch req := ch.req.(type) {
				case *structs.RegisterRequest:
					idx = h.register(req)
				case *structs.DeregisterRequest:
					idx = h.deregister(req)
				default:
					idx = h.kvSet("k", "v")
				}
				if got := fired(ws, deadlineFor(ch.wakes)); got != ch.wakes {
					t.Fatalf("watch on b fired = %v, want %v", got, ch.wakes)
				}
				after := rd.read(h.state(), nil)
				if ch.wakes && after != idx {
					t.Fatalf("b's index = %d, want %d (the change)", after, idx)
				}
				if !ch.wakes && after != before {
					t.Fatalf("b's index moved %d -> %d on an unrelated change", before, after)
				}
			})
		}
	}
}

func TestMetaMatches(t *testing.T) {
	filters := map[string]string{"a": "b", "c": "d:e", "f": ""}
	if !metaMatches(map[string]string{"a": "b", "c": "d:e", "f": "", "x": "y"}, filters) || metaMatches(map[string]string{"a": "b"}, filters) {
		t.Fatal("metaMatches")
	}
}

// ServiceUsage counts nodes, service names and instances (the "consul"
// service is not billable), answers the tables' index and wakes on a new
// instance or node.
func TestCatalog_ServiceUsage(t *testing.T) {
	h := newHarness(t)
	h.register(regService("n1", "10.0.0.1", "web-1", "web", 80))
	h.register(regService("n2", "10.0.0.2", "web-2", "web", 80))
	last := h.register(regService("n2", "10.0.0.2", "consul", "consul", 8300))
	ws := memdb.NewWatchSet()
	idx, u, err := h.state().ServiceUsage(ws, &structs.DCSpecificRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if idx != last || u.Nodes != 2 || u.Services != 2 || u.ServiceInstances != 3 || u.BillableServiceInstances != 2 || len(u.ConnectServiceInstances) != 5 {
		t.Fatalf("usage at %d (want %d): %+v", idx, last, u)
	}
	if fired(ws, mustNotFire) {
		t.Fatal("watch fired without a change")
	}
	h.register(regService("n3", "10.0.0.3", "db", "db", 5432))
	if !fired(ws, mustFire) {
		t.Fatal("a new node and instance did not wake the usage watch")
	}
}
