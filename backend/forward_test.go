package backend_test

import (
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"
	"github.com/minconsul/minconsul/backend"
	"github.com/minconsul/minconsul/testutil"
	"github.com/minconsul/minconsul/testutil/testagent"
)

// A KV write sent to a follower runs its handler there and forwards only
// the command: the answer and X-Consul-Index must still be the leader's.
func TestCluster_FollowerKVWrite(t *testing.T) {
	agents := testagent.StartCluster(t, 3)
	leader := testagent.Leader(t, agents)
	follower := "http://" + testagent.Followers(agents, leader)[0].HTTPAddr()
	do := func(method, url, body string) (int, string, uint64) {
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
		idx, _ := strconv.ParseUint(resp.Header.Get("X-Consul-Index"), 10, 64)
		return resp.StatusCode, string(b), idx
	}

	code, body, idx := do(http.MethodPut, follower+"/v1/kv/fw/a", "v1")
	if code != 200 || body != "true" || idx == 0 {
		t.Fatalf("put via follower: %d %q index %d", code, body, idx)
	}
	// The index is the write's own: the leader's entry carries it.
	code, body, _ = do(http.MethodGet, "http://"+leader.HTTPAddr()+"/v1/kv/fw/a", "")
	if code != 200 || !strings.Contains(body, `"ModifyIndex":`+strconv.FormatUint(idx, 10)) {
		t.Fatalf("leader read after follower put (index %d): %d %s", idx, code, body)
	}
	// A CAS the leader refuses is `false`, not an error.
	if code, body, _ = do(http.MethodPut, follower+"/v1/kv/fw/a?cas=1", "v2"); code != 200 || body != "false" {
		t.Fatalf("stale cas via follower: %d %q", code, body)
	}
	if code, body, _ = do(http.MethodPut, follower+"/v1/kv/fw/a?cas="+strconv.FormatUint(idx, 10), "v2"); code != 200 || body != "true" {
		t.Fatalf("cas via follower: %d %q", code, body)
	}
	// Validation errors keep their status.
	if code, _, _ = do(http.MethodPut, follower+"/v1/kv/fw/a?cas=x", "v"); code != 400 {
		t.Fatalf("bad cas via follower: status %d, want 400", code)
	}
	if code, body, _ = do(http.MethodDelete, follower+"/v1/kv/fw/a", ""); code != 200 || body != "true" {
		t.Fatalf("delete via follower: %d %q", code, body)
	}
	if code, _, _ = do(http.MethodGet, follower+"/v1/kv/fw/a", ""); code != 404 {
		t.Fatalf("get after delete: status %d, want 404", code)
	}
}

// Concurrent KV writes on a follower travel to the leader as one batch,
// and each client still gets its own answer: success, a refused CAS, or a
// 400 from its own handler.
func TestCluster_FollowerBatchesConcurrentWrites(t *testing.T) {
	agents := testagent.StartCluster(t, 3)
	leader := testagent.Leader(t, agents)
	follower := testagent.Followers(agents, leader)[0]
	c := follower.Client(t)
	if _, err := c.KV().Put(&api.KVPair{Key: "b/cas", Value: []byte("0")}, nil); err != nil {
		t.Fatal(err)
	}
	cur, _, err := c.KV().Get("b/cas", nil)
	if err != nil || cur == nil {
		t.Fatalf("get b/cas: %v %v", cur, err)
	}
	release := backend.HoldForward(follower.Backend())
	const n = 16
	errs := make(chan error, n+2)
	for i := 0; i < n; i++ {
		go func() {
			_, err := c.KV().Put(&api.KVPair{Key: fmt.Sprintf("b/k%02d", i), Value: []byte("v")}, nil)
			errs <- err
		}()
	}
	waitFor := func(q int) {
		testutil.Retry(t, 10*time.Second, func() error {
			if got := backend.ForwardQueued(follower.Backend()); got != q {
				return fmt.Errorf("%d writes queued, want %d", got, q)
			}
			return nil
		})
	}
	waitFor(n)
	cas := func(v string, res chan<- bool) {
		ok, _, err := c.KV().CAS(&api.KVPair{Key: "b/cas", Value: []byte(v), ModifyIndex: cur.ModifyIndex}, nil)
		if err != nil {
			t.Errorf("cas %s: %v", v, err)
		}
		res <- ok
	}
	cas1, cas2 := make(chan bool, 1), make(chan bool, 1)
	go cas("1", cas1)
	waitFor(n + 1)
	go cas("2", cas2)
	waitFor(n + 2)
	release()
	for i := 0; i < n; i++ {
		if err := <-errs; err != nil {
			t.Fatalf("put via follower: %v", err)
		}
	}
	if first, second := <-cas1, <-cas2; !first || second {
		t.Fatalf("two CAS on one index in one batch: %v then %v, want true then false", first, second)
	}
	keys, _, err := leader.Client(t).KV().Keys("b/k", "", nil)
	if err != nil || len(keys) != n {
		t.Fatalf("leader has %d of %d keys: %v", len(keys), n, err)
	}
	p, _, err := leader.Client(t).KV().Get("b/cas", nil)
	if err != nil || p == nil || string(p.Value) != "1" {
		t.Fatalf("b/cas after the batch: %+v %v", p, err)
	}
	// A write the follower's handler rejects never reaches the group.
	if _, err := c.KV().Put(&api.KVPair{Key: "b/big", Value: make([]byte, 600<<10)}, nil); err == nil || !strings.Contains(err.Error(), "413") {
		t.Fatalf("oversized put via follower: %v, want 413", err)
	}
}
