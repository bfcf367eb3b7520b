package httpapi

import (
	"bytes"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"

	"github.com/minconsul/minconsul/raftstore"
)

// saveSnapshot takes a backup through GET /v1/snapshot and checks its headers.
func (e *testEnv) saveSnapshot(t *testing.T) ([]byte, uint64) {
	t.Helper()
	resp, err := http.Get(e.http.URL + "/v1/snapshot")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 {
		t.Fatalf("GET /v1/snapshot: %d %s", resp.StatusCode, body)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/x-gzip" {
		t.Errorf("Content-Type %q, want application/x-gzip", ct)
	}
	if kl := resp.Header.Get("X-Consul-KnownLeader"); kl != "true" {
		t.Errorf("X-Consul-KnownLeader %q", kl)
	}
	idx, err := strconv.ParseUint(resp.Header.Get("X-Consul-Index"), 10, 64)
	if err != nil {
		t.Fatalf("X-Consul-Index: %v", err)
	}
	meta, _, err := raftstore.ReadArchive(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("saved archive does not read back: %v", err)
	}
	if meta.Index != idx {
		t.Errorf("archive index %d, header %d", meta.Index, idx)
	}
	return body, idx
}

func TestSnapshot_SaveRestore(t *testing.T) {
	e := newEnv(t)
	kv := e.client.KV()
	if _, err := kv.Put(&api.KVPair{Key: "app/a", Value: []byte("1"), Flags: 7}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := e.client.Catalog().Register(&api.CatalogRegistration{Node: "ext", Address: "10.0.0.9",
		Service: &api.AgentService{ID: "db1", Service: "db", Port: 5432}}, nil); err != nil {
		t.Fatal(err)
	}
	archive, idx := e.saveSnapshot(t)
	if idx < 2 {
		t.Fatalf("snapshot index %d after two writes", idx)
	}

	// Drift away from the backup.
	if _, err := kv.Put(&api.KVPair{Key: "app/a", Value: []byte("2")}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := kv.Put(&api.KVPair{Key: "app/b", Value: []byte("new")}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := e.client.Catalog().Deregister(&api.CatalogDeregistration{Node: "ext"}, nil); err != nil {
		t.Fatal(err)
	}
	_, qm, err := kv.Get("app/a", nil)
	if err != nil {
		t.Fatal(err)
	}

	// A blocking query parked on app/a before the restore wakes with it.
	type result struct {
		pair *api.KVPair
		err  error
	}
	woke := make(chan result, 1)
	go func() {
		p, _, err := kv.Get("app/a", &api.QueryOptions{WaitIndex: qm.LastIndex, WaitTime: 30 * time.Second})
		woke <- result{p, err}
	}()
	// It must still be parked (not answered) when the restore happens.
	select {
	case r := <-woke:
		t.Fatalf("returned before the restore: %+v %v", r.pair, r.err)
	case <-time.After(100 * time.Millisecond):
	}

	if err := e.client.Snapshot().Restore(nil, bytes.NewReader(archive)); err != nil {
		t.Fatalf("restore: %v", err)
	}
	select {
	case r := <-woke:
		if r.err != nil || r.pair == nil || string(r.pair.Value) != "1" || r.pair.Flags != 7 {
			t.Fatalf("blocked query woke with %+v, %v", r.pair, r.err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("blocking query did not wake after the restore")
	}
	keys, _, err := kv.Keys("", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(keys, ",") != "app/a" {
		t.Errorf("keys after restore %v, want [app/a]", keys)
	}
	svcs, _, err := e.client.Catalog().Service("db", "", nil)
	if err != nil || len(svcs) != 1 || svcs[0].Node != "ext" || svcs[0].ServicePort != 5432 {
		t.Errorf("db after restore: %+v %v", svcs, err)
	}
}

func TestSnapshot_BadArchiveChangesNothing(t *testing.T) {
	e := newEnv(t)
	if _, err := e.client.KV().Put(&api.KVPair{Key: "k", Value: []byte("v")}, nil); err != nil {
		t.Fatal(err)
	}
	archive, _ := e.saveSnapshot(t)
	if _, err := e.client.KV().Put(&api.KVPair{Key: "k", Value: []byte("after")}, nil); err != nil {
		t.Fatal(err)
	}
	// Flip a byte inside the gzip stream: the checksum or the gzip CRC fails.
	flipped := bytes.Clone(archive)
	flipped[len(flipped)/2] ^= 0xff
	for name, body := range map[string][]byte{
		"garbage":   []byte("not a snapshot"),
		"empty":     nil,
		"truncated": archive[:len(archive)/2],
		"flipped":   flipped,
	} {
		req, _ := http.NewRequest(http.MethodPut, e.http.URL+"/v1/snapshot", bytes.NewReader(body))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("%s: status %d (%s), want 400", name, resp.StatusCode, b)
		}
	}
	p, _, err := e.client.KV().Get("k", nil)
	if err != nil || p == nil || string(p.Value) != "after" {
		t.Fatalf("state changed by a refused restore: %+v %v", p, err)
	}
}

func TestSnapshot_Errors(t *testing.T) {
	e := newEnv(t)
	e.run(t, []httpCase{
		{name: "wrong method", method: "DELETE", path: "/v1/snapshot", status: 405},
		{name: "other dc", method: "GET", path: "/v1/snapshot?dc=dc9", status: 500, want: "No path to datacenter", exact: true},
	})
}

// A restore can bring back a key whose ModifyIndex equals the index a
// watcher is parked on, with a different value. The watcher must still
// wake: the state it watched is gone.
func TestSnapshot_RestoreWakesWatchAtSameIndex(t *testing.T) {
	src, dst := newEnv(t), newEnv(t)
	_, err := src.client.KV().Put(&api.KVPair{Key: "k", Value: []byte("restored")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	archive, _ := src.saveSnapshot(t)
	if _, err := dst.client.KV().Put(&api.KVPair{Key: "k", Value: []byte("local")}, nil); err != nil {
		t.Fatal(err)
	}
	p, qm, err := dst.client.KV().Get("k", nil)
	if err != nil || p == nil {
		t.Fatal(p, err)
	}
	if p.ModifyIndex != qm.LastIndex {
		t.Fatalf("precondition: k at %d, index %d", p.ModifyIndex, qm.LastIndex)
	}
	woke := make(chan *api.KVPair, 1)
	go func() {
		p, _, _ := dst.client.KV().Get("k", &api.QueryOptions{WaitIndex: qm.LastIndex, WaitTime: 30 * time.Second})
		woke <- p
	}()
	select {
	case p := <-woke:
		t.Fatalf("returned before the restore: %+v", p)
	case <-time.After(100 * time.Millisecond):
	}
	if err := dst.client.Snapshot().Restore(nil, bytes.NewReader(archive)); err != nil {
		t.Fatal(err)
	}
	got, _, err := dst.client.KV().Get("k", nil)
	if err != nil || got == nil || string(got.Value) != "restored" || got.ModifyIndex != qm.LastIndex {
		t.Fatalf("precondition: restored k %+v (want value restored at index %d) %v", got, qm.LastIndex, err)
	}
	select {
	case p := <-woke:
		if p == nil || string(p.Value) != "restored" {
			t.Fatalf("woke with %+v", p)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a watch parked at the restored key's own index did not wake after the restore")
	}
}
