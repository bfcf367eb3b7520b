package httpapi_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"
	"github.com/minconsul/minconsul/testutil"
	"github.com/minconsul/minconsul/testutil/testagent"
)

// do sends a raw request and answers the status and body.
func do(t *testing.T, method, url, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// startReady starts an agent whose own node and serfHealth are in the
// catalog (a default session needs both).
func startReady(t *testing.T) (*testagent.Agent, *api.Client) {
	a := testagent.Start(t, testagent.Options{})
	c := a.Client(t)
	testutil.Retry(t, 20*time.Second, func() error {
		checks, _, err := c.Health().Node(a.NodeName(), nil)
		if err != nil {
			return err
		}
		for _, ch := range checks {
			if ch.CheckID == "serfHealth" && ch.Status == api.HealthPassing {
				return nil
			}
		}
		return fmt.Errorf("no passing serfHealth yet")
	})
	return a, c
}

func TestSession_LifecycleThroughAPI(t *testing.T) {
	a, c := startReady(t)
	s := c.Session()
	id, _, err := s.Create(&api.SessionEntry{Name: "web-lock", TTL: "15s"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	info, meta, err := s.Info(id, nil)
	if err != nil || info == nil {
		t.Fatalf("info: %v %v", info, err)
	}
	if info.Name != "web-lock" || info.Node != a.NodeName() || info.Behavior != "release" ||
		info.LockDelay != 15*time.Second || info.TTL != "15s" || len(info.NodeChecks) != 1 || info.NodeChecks[0] != "serfHealth" {
		t.Fatalf("info = %+v", info)
	}
	if got := a.Store().SessionTimers(); got != 1 {
		t.Fatalf("leader timers = %d, want 1", got)
	}
	// A blocking list wakes on the destroy.
	done := make(chan []*api.SessionEntry, 1)
	go func() {
		l, _, err := s.List(&api.QueryOptions{WaitIndex: meta.LastIndex, WaitTime: 10 * time.Second})
		if err != nil {
			t.Error(err)
		}
		done <- l
	}()
	renewed, _, err := s.Renew(id, nil)
	if err != nil || renewed == nil || renewed.ID != id {
		t.Fatalf("renew: %+v %v", renewed, err)
	}
	nodeList, _, err := s.Node(a.NodeName(), nil)
	if err != nil || len(nodeList) != 1 {
		t.Fatalf("node sessions: %v %v", nodeList, err)
	}
	if _, err := s.Destroy(id, nil); err != nil {
		t.Fatal(err)
	}
	select {
	case l := <-done:
		if len(l) != 0 {
			t.Fatalf("list after destroy: %v", l)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("blocking list did not wake on destroy")
	}
	if info, _, _ := s.Info(id, nil); info != nil {
		t.Fatalf("destroyed session still there: %+v", info)
	}
	if got := a.Store().SessionTimers(); got != 0 {
		t.Fatalf("timers after destroy = %d", got)
	}
	if r, _, err := s.Renew(id, nil); err != nil || r != nil {
		t.Fatalf("renew destroyed: %v %v", r, err)
	}
	// CreateNoChecks drops serfHealth.
	id2, _, err := s.CreateNoChecks(&api.SessionEntry{Behavior: "delete", LockDelay: 2 * time.Second}, nil)
	if err != nil {
		t.Fatal(err)
	}
	info, _, _ = s.Info(id2, nil)
	if info == nil || len(info.NodeChecks) != 0 || info.Behavior != "delete" || info.LockDelay != 2*time.Second {
		t.Fatalf("no-checks session = %+v", info)
	}
}

func TestSession_BadInput(t *testing.T) {
	a, c := startReady(t)
	base := "http://" + a.HTTPAddr()
	if err := c.Agent().CheckRegister(&api.AgentCheckRegistration{ID: "c1", Name: "c1",
		AgentServiceCheck: api.AgentServiceCheck{TTL: "1m"}}); err != nil {
		t.Fatal(err)
	}
	// A TTL check starts critical; wait until the catalog has it.
	testutil.Retry(t, 10*time.Second, func() error {
		chk, _, err := c.Health().Node(a.NodeName(), nil)
		if err != nil {
			return err
		}
		for _, ch := range chk {
			if ch.CheckID == "c1" {
				return nil
			}
		}
		return fmt.Errorf("c1 not in catalog")
	})
	cases := []struct {
		name, method, path, body string
		status                   int
		want                     string
	}{
		{"ttl too short", "PUT", "/v1/session/create", `{"TTL":"5s"}`, 500, "Invalid Session TTL '5000000000', must be between [10s=24h0m0s]"},
		{"ttl too long", "PUT", "/v1/session/create", `{"TTL":"25h"}`, 500, "Invalid Session TTL '90000000000000', must be between [10s=24h0m0s]"},
		{"ttl garbage", "PUT", "/v1/session/create", `{"TTL":"soon"}`, 500, `Session TTL 'soon' invalid: time: invalid duration "soon"`},
		{"behavior", "PUT", "/v1/session/create", `{"Behavior":"explode"}`, 500, "Invalid Behavior setting 'explode'"},
		{"bad json", "PUT", "/v1/session/create", `{"TTL":`, 400, "Request decode failed: unexpected end of JSON input"},
		{"unknown node", "PUT", "/v1/session/create", `{"Node":"ghost"}`, 500, "Missing node registration"},
		{"unknown check", "PUT", "/v1/session/create", `{"NodeChecks":["nope"]}`, 500, "Missing check 'nope' registration"},
		{"critical check", "PUT", "/v1/session/create", `{"Checks":["serfHealth","c1"]}`, 500, "Check 'c1' is in critical state"},
		{"malformed uuid info", "GET", "/v1/session/info/xyz", "", 500, "failed session lookup: index error: UUID must be 36 characters"},
		{"malformed uuid destroy", "PUT", "/v1/session/destroy/xyz", "", 500, "failed session lookup: index error: UUID must be 36 characters"},
		{"unknown renew", "PUT", "/v1/session/renew/3f1a9c44-2c1b-4b7e-9a53-0d0b7c1f2e11", "", 404, "Session id '3f1a9c44-2c1b-4b7e-9a53-0d0b7c1f2e11' not found"},
		{"unknown info", "GET", "/v1/session/info/3f1a9c44-2c1b-4b7e-9a53-0d0b7c1f2e11", "", 200, "[]"},
		{"missing id", "PUT", "/v1/session/destroy/", "", 400, "Missing session"},
		{"missing node", "GET", "/v1/session/node/", "", 400, "Missing node name"},
		{"acquire dead session", "PUT", "/v1/kv/k?acquire=3f1a9c44-2c1b-4b7e-9a53-0d0b7c1f2e11", "x", 500, `invalid session "3f1a9c44-2c1b-4b7e-9a53-0d0b7c1f2e11"`},
		{"acquire and release", "PUT", "/v1/kv/k?acquire=a&release=b", "x", 400, "Conflicting flags"},
	}
	for _, tc := range cases {
		status, body := do(t, tc.method, base+tc.path, tc.body)
		if status != tc.status || !strings.Contains(body, tc.want) {
			t.Errorf("%s: %d %q, want %d %q", tc.name, status, body, tc.status, tc.want)
		}
	}
	if l, _, _ := c.Session().List(nil); len(l) != 0 {
		t.Fatalf("bad input created sessions: %v", l)
	}
	if p, _, _ := c.KV().Get("k", nil); p != nil {
		t.Fatalf("bad input wrote k: %+v", p)
	}
}

// Invalidation: a listed check going critical ends the session; release
// frees held keys (LockIndex kept, Session cleared) under the lock delay,
// delete removes them.
func TestSession_InvalidationAndLockDelay(t *testing.T) {
	a, c := startReady(t)
	if err := c.Agent().CheckRegister(&api.AgentCheckRegistration{ID: "c1", Name: "c1",
		AgentServiceCheck: api.AgentServiceCheck{TTL: "1m"}}); err != nil {
		t.Fatal(err)
	}
	if err := c.Agent().PassTTL("c1", ""); err != nil {
		t.Fatal(err)
	}
	s, kv := c.Session(), c.KV()
	var rel, del string
	testutil.Retry(t, 10*time.Second, func() error {
		var err error
		rel, _, err = s.Create(&api.SessionEntry{NodeChecks: []string{"serfHealth", "c1"}, LockDelay: 1500 * time.Millisecond}, nil)
		return err
	})
	del, _, err := s.Create(&api.SessionEntry{NodeChecks: []string{"c1"}, Behavior: "delete"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for key, id := range map[string]string{"locks/rel": rel, "locks/del": del} {
		ok, _, err := kv.Acquire(&api.KVPair{Key: key, Value: []byte("me"), Session: id}, nil)
		if err != nil || !ok {
			t.Fatalf("acquire %s: %v %v", key, ok, err)
		}
	}
	p, _, _ := kv.Get("locks/rel", nil)
	if p.Session != rel || p.LockIndex != 1 {
		t.Fatalf("held entry = %+v", p)
	}
	other, _, err := s.CreateNoChecks(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if ok, _, _ := kv.Acquire(&api.KVPair{Key: "locks/rel", Session: other}, nil); ok {
		t.Fatal("second session acquired a held lock")
	}
	if ok, _, _ := kv.Release(&api.KVPair{Key: "locks/rel", Session: other}, nil); ok {
		t.Fatal("a non-holder released the lock")
	}
	if err := c.Agent().FailTTL("c1", "down"); err != nil {
		t.Fatal(err)
	}
	testutil.Retry(t, 10*time.Second, func() error {
		if l, _, _ := s.List(nil); len(l) != 1 {
			return fmt.Errorf("%d sessions left, want 1", len(l))
		}
		return nil
	})
	p, _, _ = kv.Get("locks/rel", nil)
	if p == nil || p.Session != "" || p.LockIndex != 1 || string(p.Value) != "me" {
		t.Fatalf("released entry = %+v", p)
	}
	if p, _, _ := kv.Get("locks/del", nil); p != nil {
		t.Fatalf("delete behavior kept %+v", p)
	}
	// Lock delay: refused at first, granted once it passes.
	if ok, _, _ := kv.Acquire(&api.KVPair{Key: "locks/rel", Session: other}, nil); ok {
		t.Fatal("acquired during lock delay")
	}
	testutil.Retry(t, 10*time.Second, func() error {
		ok, _, err := kv.Acquire(&api.KVPair{Key: "locks/rel", Session: other}, nil)
		if err != nil || !ok {
			return fmt.Errorf("not acquired yet: %v", err)
		}
		return nil
	})
	p, _, _ = kv.Get("locks/rel", nil)
	if p.LockIndex != 2 || p.Session != other {
		t.Fatalf("re-acquired entry = %+v", p)
	}
	// Deregistering the node ends its sessions.
	if _, err := c.Catalog().Deregister(&api.CatalogDeregistration{Node: a.NodeName()}, nil); err != nil {
		t.Fatal(err)
	}
	if l, _, _ := s.List(nil); len(l) != 0 {
		t.Fatalf("sessions after node deregistration: %v", l)
	}
}

// Several goroutines contend on api.LockKey and on a Semaphore: there are
// never more holders than allowed, and everyone gets a turn.
func TestLock_ContentionThroughAPI(t *testing.T) {
	_, c := startReady(t)
	contend(t, c, 4, 5, 1)
	contend(t, c, 5, 4, 2)
}

// contend runs workers goroutines that each take the lock (limit 1) or a
// semaphore slot rounds times, holding it briefly.
func contend(t *testing.T, c *api.Client, workers, rounds, limit int) {
	t.Helper()
	var holders, maxSeen, total atomic.Int32
	var wg sync.WaitGroup
	prefix := fmt.Sprintf("contend/%d", limit)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := 0; r < rounds; r++ {
				var unlock func() error
				if limit == 1 {
					l, err := c.LockKey(prefix)
					if err != nil {
						t.Error(err)
						return
					}
					if _, err := l.Lock(nil); err != nil {
						t.Error(err)
						return
					}
					unlock = l.Unlock
				} else {
					sem, err := c.SemaphorePrefix(prefix, limit)
					if err != nil {
						t.Error(err)
						return
					}
					if _, err := sem.Acquire(nil); err != nil {
						t.Error(err)
						return
					}
					unlock = sem.Release
				}
				n := holders.Add(1)
				for {
					m := maxSeen.Load()
					if n <= m || maxSeen.CompareAndSwap(m, n) {
						break
					}
				}
				total.Add(1)
				time.Sleep(5 * time.Millisecond) // hold it a moment so overlaps would show
				holders.Add(-1)
				if err := unlock(); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if got := maxSeen.Load(); got > int32(limit) {
		t.Fatalf("limit %d: %d holders at once", limit, got)
	}
	if got := total.Load(); got != int32(workers*rounds) {
		t.Fatalf("limit %d: %d acquisitions, want %d", limit, got, workers*rounds)
	}
}

func TestTxn_ThroughAPIAndBadInput(t *testing.T) {
	a, c := startReady(t)
	base := "http://" + a.HTTPAddr()
	txn := c.Txn()
	ok, resp, _, err := txn.Txn(api.TxnOps{
		{KV: &api.KVTxnOp{Verb: api.KVSet, Key: "t/a", Value: []byte("1")}},
		{KV: &api.KVTxnOp{Verb: api.KVCAS, Key: "t/b", Value: []byte("2"), Index: 0}},
		{KV: &api.KVTxnOp{Verb: api.KVGet, Key: "t/a"}},
		{Node: &api.NodeTxnOp{Verb: api.NodeSet, Node: api.Node{Node: "ext", Address: "10.0.0.9"}}},
		{Service: &api.ServiceTxnOp{Verb: api.ServiceSet, Node: "ext", Service: api.AgentService{ID: "db1", Service: "db", Port: 5432}}},
		{Check: &api.CheckTxnOp{Verb: api.CheckSet, Check: api.HealthCheck{Node: "ext", CheckID: "db-alive", Name: "db alive", Status: "passing", ServiceID: "db1"}}},
	}, nil)
	if err != nil || !ok {
		t.Fatalf("txn: %v %v %+v", ok, err, resp)
	}
	if len(resp.Results) != 6 || string(resp.Results[2].KV.Value) != "1" || resp.Results[0].KV.Value != nil {
		t.Fatalf("results = %+v", resp.Results)
	}
	svcs, _, err := c.Catalog().Service("db", "", nil)
	if err != nil || len(svcs) != 1 || svcs[0].Node != "ext" {
		t.Fatalf("catalog after txn: %v %v", svcs, err)
	}
	// An empty value answers null in get and get-tree results, as the KV
	// endpoint and Consul answer it (python-consul reads None, not b'').
	if _, err := c.KV().Put(&api.KVPair{Key: "empty/k"}, nil); err != nil {
		t.Fatal(err)
	}
	if ok, _, _, err := txn.Txn(api.TxnOps{{KV: &api.KVTxnOp{Verb: api.KVSet, Key: "empty/t", Value: []byte{}}}}, nil); err != nil || !ok {
		t.Fatalf("set empty through txn: %v %v", ok, err)
	}
	req, _ := http.NewRequest(http.MethodPut, base+"/v1/txn", strings.NewReader(
		`[{"KV":{"Verb":"get","Key":"empty/k"}},{"KV":{"Verb":"get-tree","Key":"empty/"}}]`))
	r, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(r.Body)
	r.Body.Close()
	if r.StatusCode != 200 || strings.Count(string(b), `"Value":null`) != 3 {
		t.Fatalf("empty value in txn: %d %s", r.StatusCode, b)
	}
	// Read-only: served as a read, with ?stale.
	ok, resp, _, err = txn.Txn(api.TxnOps{
		{KV: &api.KVTxnOp{Verb: api.KVGetTree, Key: "t/"}},
		{KV: &api.KVTxnOp{Verb: api.KVCheckNotExists, Key: "t/zzz"}},
		{Node: &api.NodeTxnOp{Verb: api.NodeGet, Node: api.Node{Node: "ext"}}},
	}, &api.QueryOptions{AllowStale: true})
	if err != nil || !ok || len(resp.Results) != 3 {
		t.Fatalf("read txn: %v %v %+v", ok, err, resp)
	}

	ops := func(n int, tail string) string {
		var parts []string
		for i := 0; i < n; i++ {
			parts = append(parts, fmt.Sprintf(`{"KV":{"Verb":"set","Key":"bulk/%d","Value":"eA=="}}`, i))
		}
		if tail != "" {
			parts = append(parts, tail)
		}
		return "[" + strings.Join(parts, ",") + "]"
	}
	cases := []struct {
		name, body string
		status     int
		want       string
	}{
		{"65 ops", ops(65, ""), 413, "Transaction contains too many operations (65 > 64)"},
		{"not json", `[{"KV":`, 400, "Failed to parse body: "},
		{"wrong type", `[{"KV":{"Verb":"set","Key":"x","Flags":"high"}}]`, 400, "Failed to parse body: "},
		{"unknown verb", `[{"KV":{"Verb":"explode","Key":"x"}}]`, 409, `{"OpIndex":0,"What":"unknown KV verb \"explode\""}`},
		{"10th op fails", ops(9, `{"KV":{"Verb":"cas","Key":"bulk/0","Value":"eA==","Index":12345}}`), 409,
			`{"OpIndex":9,"What":"failed to set key \"bulk/0\", index is stale"}`},
		{"too large", `[{"KV":{"Verb":"set","Key":"big","Value":"` + strings.Repeat("A", 700*1024) + `"}}]`, 413, "Request body too large, max size: 524288 bytes"},
	}
	for _, tc := range cases {
		status, body := do(t, "PUT", base+"/v1/txn", tc.body)
		if status != tc.status || !strings.Contains(body, tc.want) {
			t.Errorf("%s: %d %.200q, want %d %q", tc.name, status, body, tc.status, tc.want)
		}
		if status == 409 {
			var out struct{ Results, Errors []json.RawMessage }
			if err := json.Unmarshal([]byte(body), &out); err != nil || out.Results != nil {
				t.Errorf("%s: 409 body %q", tc.name, body)
			}
		}
	}
	if keys, _, _ := c.KV().Keys("bulk/", "", nil); len(keys) != 0 {
		t.Fatalf("failed transactions wrote %v", keys)
	}
}
