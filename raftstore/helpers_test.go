package raftstore

import (
	"encoding/json"
	"errors"
	"github.com/minconsul/minconsul/testutil"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-memdb"
	"github.com/hashicorp/raft"
	"github.com/minconsul/minconsul/structs"
)

// testLogger logs to t.Log (shown only when the test fails). It registers
// its cleanup first, so it outlives every store the test starts after it.
func testLogger(t testing.TB) hclog.Logger { return testutil.Logger(t, "test") }

// harness drives an FSM the way Raft does: one log entry per command,
// indexes increasing by one.
type harness struct {
	t   testing.TB
	fsm *FSM
	idx uint64
}

func newHarness(t testing.TB) *harness {
	t.Helper()
	f, err := NewFSM(testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	return &harness{t: t, fsm: f}
}

func (h *harness) state() *StateStore { return h.fsm.State() }

// applyRaw feeds one log entry and returns FSM.Apply's result as is.
func (h *harness) applyRaw(data []byte) any {
	h.idx++
	return h.fsm.Apply(&raft.Log{Type: raft.LogCommand, Index: h.idx, Data: data})
}

// apply encodes cmd, applies it at the next index and unpacks the result.
func (h *harness) apply(cmd structs.Command) (uint64, any, error) {
	h.t.Helper()
	data, err := structs.Encode(&cmd)
	if err != nil {
		h.t.Fatalf("encode %s: %v", cmd.Type, err)
	}
	res, ok := h.applyRaw(data).(applyResult)
	if !ok {
		h.t.Fatalf("apply %s: result is %T, want applyResult", cmd.Type, res)
	}
	return h.idx, res.Value, res.Err
}

func (h *harness) mustApply(cmd structs.Command) (uint64, any) {
	h.t.Helper()
	idx, v, err := h.apply(cmd)
	if err != nil {
		h.t.Fatalf("apply %s at %d: %v", cmd.Type, idx, err)
	}
	return idx, v
}

// kvSet writes key=value and returns the index it was written at.
func (h *harness) kvSet(key, value string) uint64 {
	h.t.Helper()
	idx, _ := h.mustApply(kvCmd(structs.KVSet, key, value, 0))
	return idx
}

func (h *harness) register(req *structs.RegisterRequest) uint64 {
	h.t.Helper()
	idx, _ := h.mustApply(structs.Command{Type: structs.CatalogRegister, Register: req})
	return idx
}

func (h *harness) deregister(req *structs.DeregisterRequest) uint64 {
	h.t.Helper()
	idx, _ := h.mustApply(structs.Command{Type: structs.CatalogDeregister, Deregister: req})
	return idx
}

func kvCmd(t structs.CommandType, key, value string, modifyIndex uint64) structs.Command {
	e := &structs.DirEntry{Key: key, ModifyIndex: modifyIndex}
	if value != "" {
		e.Value = []byte(value)
	}
	return structs.Command{Type: t, KV: e}
}

// regService is a registration of one service instance on a node.
func regService(node, addr, id, name string, port int, tags ...string) *structs.RegisterRequest {
	return &structs.RegisterRequest{
		Node: node, Address: addr,
		Service: &structs.NodeService{ID: id, Service: name, Port: port, Tags: tags},
	}
}

// check builds a check; serviceID "" makes it node-level.
func check(id, serviceID, status string) *structs.HealthCheck {
	return &structs.HealthCheck{CheckID: id, Name: id, ServiceID: serviceID, Status: status}
}

func nodeCheckReq(node, addr, id, status string) *structs.RegisterRequest {
	return &structs.RegisterRequest{Node: node, Address: addr, Check: check(id, "", status)}
}

// fired reports whether ws fires within d. Negative checks use a short
// d: it is a deadline for something that must not happen, not a wait.
func fired(ws memdb.WatchSet, d time.Duration) bool {
	return !ws.Watch(time.After(d))
}

const (
	mustFire    = 5 * time.Second
	mustNotFire = 50 * time.Millisecond
)

func isBadRequest(err error) bool { return errors.Is(err, structs.ErrBadRequest) }

func toJSON(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("json: %v", err)
	}
	return string(b)
}

// dumpState runs every read the state store offers over everything it
// holds, indexes included, and returns it as JSON lines: two state stores
// with equal dumps answer every client identically.
func dumpState(t testing.TB, s *StateStore, extraKeys ...string) string {
	t.Helper()
	var b strings.Builder
	line := func(name string, idx uint64, v any) {
		b.WriteString(name)
		b.WriteString(" @")
		b.WriteString(toJSON(t, idx))
		b.WriteString(" ")
		b.WriteString(toJSON(t, v))
		b.WriteString("\n")
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}

	idx, ents, err := s.KVList(nil, &structs.KeyRequest{Key: ""})
	must(err)
	line("kvlist", idx, ents)
	sidx, sessions, err := s.SessionList(nil, &structs.DCSpecificRequest{})
	must(err)
	line("sessions", sidx, sessions)
	keys := append([]string(nil), extraKeys...)
	prefixes := map[string]bool{"": true}
	for _, e := range ents {
		keys = append(keys, e.Key)
		if i := strings.Index(e.Key, "/"); i >= 0 {
			prefixes[e.Key[:i+1]] = true
		}
	}
	for _, k := range extraKeys {
		if i := strings.Index(k, "/"); i >= 0 {
			prefixes[k[:i+1]] = true
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		idx, e, err := s.KVGet(nil, &structs.KeyRequest{Key: k})
		must(err)
		line("kvget "+k, idx, e)
	}
	var ps []string
	for p := range prefixes {
		ps = append(ps, p)
	}
	sort.Strings(ps)
	for _, p := range ps {
		idx, ents, err := s.KVList(nil, &structs.KeyRequest{Key: p})
		must(err)
		line("kvlist "+p, idx, ents)
		idx, ks, err := s.KVKeys(nil, &structs.KeyListRequest{Prefix: p, Separator: "/"})
		must(err)
		line("kvkeys "+p, idx, ks)
	}

	idx, nodes, err := s.Nodes(nil, &structs.DCSpecificRequest{})
	must(err)
	line("nodes", idx, nodes)
	for _, n := range nodes {
		idx, node, err := s.GetNode(nil, &structs.NodeSpecificRequest{Node: n.Node})
		must(err)
		line("node "+n.Node, idx, node)
		idx, ns, err := s.NodeServices(nil, &structs.NodeSpecificRequest{Node: n.Node})
		must(err)
		line("nodeservices "+n.Node, idx, ns)
		idx, hcs, err := s.NodeChecks(nil, &structs.NodeSpecificRequest{Node: n.Node})
		must(err)
		line("nodechecks "+n.Node, idx, hcs)
	}
	idx, svcs, err := s.Services(nil, &structs.DCSpecificRequest{})
	must(err)
	line("services", idx, svcs)
	var names []string
	for name := range svcs {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		idx, sns, err := s.ServiceNodes(nil, &structs.ServiceSpecificRequest{ServiceName: name})
		must(err)
		line("servicenodes "+name, idx, sns)
		idx, csns, err := s.CheckServiceNodes(nil, &structs.ServiceSpecificRequest{ServiceName: name})
		must(err)
		line("health "+name, idx, csns)
		idx, hcs, err := s.ServiceChecks(nil, &structs.ServiceSpecificRequest{ServiceName: name})
		must(err)
		line("servicechecks "+name, idx, hcs)
	}
	for _, st := range []string{structs.HealthAny, structs.HealthPassing, structs.HealthWarning, structs.HealthCritical} {
		idx, hcs, err := s.ChecksInState(nil, &structs.ChecksInStateRequest{State: st})
		must(err)
		line("state "+st, idx, hcs)
	}
	b.WriteString("lastindex " + toJSON(t, s.LastIndex()) + "\n")
	return b.String()
}

// populate writes a little of everything (KV with deletes, so tombstones;
// catalog with node-level and service checks) and returns the keys
// touched, including deleted ones.
const (
	testSession1 = "aaaaaaaa-1111-4111-8111-111111111111"
	testSession2 = "bbbbbbbb-2222-4222-8222-222222222222"
)

func populate(h *harness) []string {
	h.t.Helper()
	for _, k := range []string{"app/a", "app/b", "app/c/d", "other", "gone/1", "gone/2", "empty"} {
		h.kvSet(k, "v-"+k)
	}
	h.mustApply(structs.Command{Type: structs.KVSet, KV: &structs.DirEntry{Key: "flags", Flags: 42, Value: []byte{0, 1, 2}}})
	h.mustApply(kvCmd(structs.KVDelete, "app/b", "", 0))
	h.mustApply(kvCmd(structs.KVDeleteTree, "gone/", "", 0))
	h.kvSet("app/a", "v2")

	h.register(&structs.RegisterRequest{
		Node: "n1", Address: "10.0.0.1", ID: "11111111-1111-1111-1111-111111111111",
		TaggedAddresses: map[string]string{"lan": "10.0.0.1"}, NodeMeta: map[string]string{"rack": "r1"},
		Service: &structs.NodeService{ID: "web-1", Service: "web", Port: 80, Tags: []string{"primary", "v1"},
			Meta: map[string]string{"version": "1"}},
		Checks: structs.HealthChecks{
			check(structs.SerfCheckID, "", structs.HealthPassing),
			check("web-http", "web-1", structs.HealthWarning),
		},
	})
	h.register(regService("n1", "10.0.0.1", "db", "db", 5432))
	h.register(&structs.RegisterRequest{Node: "n1", Address: "10.0.0.1", Check: check("db-tcp", "db", structs.HealthCritical)})
	h.register(regService("n2", "10.0.0.2", "web-2", "web", 8080, "secondary"))
	h.register(nodeCheckReq("n2", "10.0.0.2", structs.SerfCheckID, structs.HealthPassing))
	h.register(regService("n3", "10.0.0.3", "tmp", "tmp", 1))
	h.deregister(&structs.DeregisterRequest{Node: "n3"})
	// A session holding a lock, and one on n2 that is ended.
	h.mustApply(structs.Command{Type: structs.SessionCreate, Session: &structs.Session{ID: testSession1, Node: "n2",
		NodeChecks: []string{structs.SerfCheckID}, TTL: "30s", LockDelay: 15 * time.Second, Behavior: structs.SessionKeysRelease}})
	h.mustApply(structs.Command{Type: structs.KVLock, KV: &structs.DirEntry{Key: "locks/x", Value: []byte("held"), Session: testSession1}})
	h.mustApply(structs.Command{Type: structs.SessionCreate, Session: &structs.Session{ID: testSession2, Node: "n2"}})
	h.mustApply(structs.Command{Type: structs.SessionDestroy, Session: &structs.Session{ID: testSession2}})
	return []string{"app/a", "app/b", "app/c/d", "other", "gone/1", "gone/2", "empty", "flags", "never", "locks/x"}
}
