package agent_test

import (
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
)

// A KV write sent to a follower runs its handler there and forwards only
// the command: the answer and X-Consul-Index must still be the leader's.
func TestCluster_FollowerKVWrite(t *testing.T) {
	agents := startCluster(t, 3)
	leader := leaderOf(t, agents)
	var follower string
	for _, a := range agents {
		if a != leader {
			follower = "http://" + a.HTTPAddr()
			break
		}
	}
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
