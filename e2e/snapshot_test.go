package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptrace"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"

	"github.com/minconsul/minconsul/agent"
	"github.com/minconsul/minconsul/testutil"
	"github.com/minconsul/minconsul/testutil/testagent"
)

// startServer starts an in-process single server with Raft on disk and
// gossip on its own loopback address (not the in-memory -dev shortcut), so
// the snapshot goes through the same Raft snapshot store as production.
func startServer(t *testing.T, name, ip string) (*testagent.Agent, *api.Client) {
	t.Helper()
	a := testagent.Start(t, testagent.Options{NodeName: name, DataDir: t.TempDir(), Mutate: func(c *agent.Config) {
		c.BindAddr, c.AdvertiseAddr = ip, ip
		c.HTTPAddr, c.DNSAddr = ip+":0", ip+":0"
	}})
	cfg := api.DefaultConfig()
	cfg.Address = a.HTTPAddr()
	client, err := api.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return a, client
}

// canonicalGET fetches a JSON endpoint and re-encodes it so that two
// agents' answers compare byte for byte.
func canonicalGET(t *testing.T, addr, path string) string {
	t.Helper()
	resp, err := http.Get("http://" + addr + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d %s", path, resp.StatusCode, b)
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("GET %s: %v in %s", path, err, b)
	}
	out, _ := json.Marshal(v)
	return string(out)
}

// What the restore must give back. The services live on a node registered
// through /v1/catalog/register: the restoring agent's anti-entropy owns
// only its own node, and its leader reaps gossip nodes it does not know,
// so these are the paths that show the restore itself.
var restoredPaths = []string{
	"/v1/kv/?recurse",
	"/v1/catalog/node/ext-1",
	"/v1/catalog/service/web",
	"/v1/health/node/ext-1",
	"/v1/health/service/web",
	"/v1/health/checks/web",
}

func TestSnapshot_SaveRestoreIntoFreshAgent(t *testing.T) {
	bin := testutil.Binary(t)
	a, ca := startServer(t, "snap-a", "127.0.0.41")

	kv := ca.KV()
	// app/x goes last, so its index differs from the one it has on the
	// fresh agent below (the same index on both sides is the case
	// TestSnapshot_RestoreWakesWatchAtSameIndex in httpapi covers).
	for _, kv2 := range [][2]string{{"top", ""}, {"app/y/z", "deep"}, {"app/x", "v1"}} {
		if _, err := kv.Put(&api.KVPair{Key: kv2[0], Value: []byte(kv2[1]), Flags: uint64(len(kv2[0]))}, nil); err != nil {
			t.Fatal(err)
		}
	}
	reg := &api.CatalogRegistration{
		Node: "ext-1", Address: "10.9.0.1", NodeMeta: map[string]string{"rack": "r1"},
		Service: &api.AgentService{ID: "web-1", Service: "web", Tags: []string{"v1", "primary"}, Port: 8080,
			Meta: map[string]string{"team": "a"}},
		Checks: api.HealthChecks{
			{Node: "ext-1", CheckID: "web-ttl", Name: "web ttl", Status: api.HealthWarning, Output: "slow",
				ServiceID: "web-1", Type: "ttl"},
			{Node: "ext-1", CheckID: "disk", Name: "disk", Status: api.HealthPassing, Output: "ok"},
		},
	}
	if _, err := ca.Catalog().Register(reg, nil); err != nil {
		t.Fatal(err)
	}
	// The check's status moves after registration, as a TTL update would.
	reg.Checks[0].Status, reg.Checks[0].Output = api.HealthCritical, "missed TTL"
	if _, err := ca.Catalog().Register(reg, nil); err != nil {
		t.Fatal(err)
	}

	want := map[string]string{}
	for _, p := range restoredPaths {
		want[p] = canonicalGET(t, a.HTTPAddr(), p)
	}
	if !strings.Contains(want["/v1/health/checks/web"], `"missed TTL"`) {
		t.Fatalf("check status not recorded: %s", want["/v1/health/checks/web"])
	}

	// Save with the CLI (it verifies the archive before keeping it).
	file := filepath.Join(t.TempDir(), "backup.snap")
	out, err := run(t, nil, bin, "snapshot", "save", "-http-addr="+a.HTTPAddr(), file)
	if err != nil {
		t.Fatalf("snapshot save: %v\n%s", err, out)
	}
	m := regexp.MustCompile(`^Saved and verified snapshot to index (\d+)\n$`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("snapshot save output %q", out)
	}
	index, _ := strconv.ParseUint(m[1], 10, 64)
	if _, err := os.Stat(file + ".unverified"); !os.IsNotExist(err) {
		t.Errorf("unverified file left behind: %v", err)
	}
	out, err = run(t, nil, bin, "snapshot", "inspect", file)
	if err != nil {
		t.Fatalf("snapshot inspect: %v\n%s", err, out)
	}
	if !regexp.MustCompile(`(?m)^ Index +`+m[1]+`$`).MatchString(out) || !strings.Contains(out, " Version") {
		t.Fatalf("snapshot inspect output lacks index %s:\n%s", m[1], out)
	}
	archive, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	// The API's own save agrees on the index.
	rc, qm, err := ca.Snapshot().Save(nil)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, rc)
	rc.Close()
	if qm.LastIndex < index {
		t.Errorf("api save index %d < CLI save index %d", qm.LastIndex, index)
	}

	// A fresh agent, with a key of its own that the restore overwrites.
	b, cb := startServer(t, "snap-b", "127.0.0.42")
	if _, err := cb.KV().Put(&api.KVPair{Key: "app/x", Value: []byte("stale")}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := cb.KV().Put(&api.KVPair{Key: "only-on-b", Value: []byte("gone soon")}, nil); err != nil {
		t.Fatal(err)
	}
	_, bm, err := cb.KV().Get("app/x", nil)
	if err != nil {
		t.Fatal(err)
	}
	type result struct {
		pair *api.KVPair
		err  error
	}
	woke := make(chan result, 1)
	// wrote is closed once the blocking GET is on the wire, so the restore
	// below really has a parked query to wake.
	wrote := make(chan struct{})
	var wroteOnce sync.Once
	trace := &httptrace.ClientTrace{WroteRequest: func(httptrace.WroteRequestInfo) {
		wroteOnce.Do(func() { close(wrote) })
	}}
	qctx, qcancel := context.WithCancel(httptrace.WithClientTrace(context.Background(), trace))
	defer qcancel()
	go func() {
		q := &api.QueryOptions{WaitIndex: bm.LastIndex, WaitTime: 30 * time.Second}
		p, _, err := cb.KV().Get("app/x", q.WithContext(qctx))
		woke <- result{p, err}
	}()
	select {
	case <-wrote:
	case r := <-woke:
		t.Fatalf("blocking query returned before the restore: %+v %v", r.pair, r.err)
	case <-time.After(10 * time.Second):
		t.Fatal("blocking query was not sent within 10s")
	}
	select {
	case r := <-woke:
		t.Fatalf("blocking query returned before the restore: %+v %v", r.pair, r.err)
	default: // it is parked
	}

	out, err = run(t, nil, bin, "snapshot", "restore", "-http-addr="+b.HTTPAddr(), file)
	if err != nil || out != "Restored snapshot\n" {
		t.Fatalf("snapshot restore: %v %q", err, out)
	}
	select {
	case r := <-woke:
		if r.err != nil || r.pair == nil || string(r.pair.Value) != "v1" {
			t.Fatalf("blocking query woke with %+v %v, want app/x=v1", r.pair, r.err)
		}
	case <-time.After(10 * time.Second):
		p, m2, _ := cb.KV().Get("app/x", nil)
		t.Fatalf("blocking query parked before the restore (index %d) did not wake; app/x now %+v, index %d", bm.LastIndex, p, m2.LastIndex)
	}
	for _, p := range restoredPaths {
		if got := canonicalGET(t, b.HTTPAddr(), p); got != want[p] {
			t.Errorf("GET %s after restore:\n got %s\nwant %s", p, got, want[p])
		}
	}

	// A corrupted archive is refused and changes nothing.
	bad := bytes.Clone(archive)
	bad[len(bad)/2] ^= 0x5a
	err = cb.Snapshot().Restore(nil, bytes.NewReader(bad))
	if err == nil || !strings.Contains(err.Error(), "400") {
		t.Fatalf("corrupted archive: err %v, want a 400", err)
	}
	out, err = run(t, nil, bin, "snapshot", "restore", "-http-addr="+b.HTTPAddr(), filepath.Join(t.TempDir(), "missing.snap"))
	if err == nil || !strings.HasPrefix(out, "Error opening snapshot file: ") {
		t.Fatalf("restore of a missing file: %v %q", err, out)
	}
	for _, p := range restoredPaths {
		if got := canonicalGET(t, b.HTTPAddr(), p); got != want[p] {
			t.Errorf("GET %s after a refused restore:\n got %s\nwant %s", p, got, want[p])
		}
	}
	if err := os.WriteFile(file, bad, 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := run(t, nil, bin, "snapshot", "inspect", file); err == nil || !strings.HasPrefix(out, "Error extracting snapshot data: ") {
		t.Fatalf("inspect of a corrupted archive: %v %q", err, out)
	}
}

func TestOperator_RaftPeersAndForceLeave(t *testing.T) {
	bin := testutil.Binary(t)
	a, client := startServer(t, "op-a", "127.0.0.43")
	ha := "-http-addr=" + a.HTTPAddr()

	out, err := run(t, nil, bin, "operator", "raft", "list-peers", ha)
	if err != nil {
		t.Fatalf("list-peers: %v\n%s", err, out)
	}
	ls := lines(out)
	if len(ls) != 2 || !regexp.MustCompile(`^Node +ID +Address +State +Voter +RaftProtocol$`).MatchString(ls[0]) {
		t.Fatalf("list-peers output:\n%s", out)
	}
	cfg, err := client.Operator().RaftGetConfiguration(nil)
	if err != nil || len(cfg.Servers) != 1 {
		t.Fatalf("raft configuration: %+v %v", cfg, err)
	}
	s := cfg.Servers[0]
	if f := strings.Fields(ls[1]); len(f) != 6 || f[0] != "op-a" || f[1] != s.ID || f[2] != s.Address || f[3] != "leader" || f[4] != "true" {
		t.Fatalf("list-peers row %q, server %+v", ls[1], s)
	}

	out, err = run(t, nil, bin, "operator", "raft", "remove-peer", ha, "-id=no-such-id")
	if err == nil || !strings.Contains(out, `Error removing peer: Unexpected response code: 500 (id "no-such-id" was not found in the Raft configuration)`) {
		t.Fatalf("remove-peer unknown id: %v %q", err, out)
	}
	out, err = run(t, nil, bin, "operator", "raft", "remove-peer", ha, "-address=10.0.0.1:8300")
	if err == nil || !strings.Contains(out, `address "10.0.0.1:8300" was not found`) {
		t.Fatalf("remove-peer unknown address: %v %q", err, out)
	}
	out, err = run(t, nil, bin, "operator", "raft", "remove-peer", ha)
	if err == nil || !strings.Contains(out, "Error removing peer: an address or id is required for the peer to remove") {
		t.Fatalf("remove-peer without selector: %v %q", err, out)
	}
	// Still one voter.
	if cfg, err := client.Operator().RaftGetConfiguration(nil); err != nil || len(cfg.Servers) != 1 || !cfg.Servers[0].Voter {
		t.Fatalf("configuration after refused removals: %+v %v", cfg, err)
	}

	out, err = run(t, nil, bin, "force-leave", ha)
	if err == nil || !strings.HasPrefix(out, "A single node name must be specified to force leave.") {
		t.Fatalf("force-leave without a node: %v %q", err, out)
	}
	// The request reaches the agent's serf (minconsul answers 200 for a
	// name gossip does not know; Consul may refuse it), never a transport
	// error.
	out, err = run(t, nil, bin, "force-leave", ha, "ghost")
	if (err == nil && out != "") || (err != nil && !strings.HasPrefix(out, "Error force leaving: Unexpected response code")) {
		t.Fatalf("force-leave ghost: %v %q", err, out)
	}
}
