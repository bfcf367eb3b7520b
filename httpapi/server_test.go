package httpapi

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"
	"github.com/hashicorp/go-memdb"

	"github.com/minconsul/minconsul/raftstore"
	"github.com/minconsul/minconsul/structs"
)

func TestServer_ServeShutdownEndsBlockingQueries(t *testing.T) {
	st := &signalStore{Store: newStore(t), blocking: make(chan struct{}, 1)}
	srv := New(Config{Datacenter: "dc1", NodeName: "node1"}, st, nil, testLogger(t))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()

	cfg := api.DefaultConfig()
	cfg.Address = ln.Addr().String()
	client, err := api.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := client.KV().Put(&api.KVPair{Key: "k", Value: []byte("v")}, nil); err != nil {
		t.Fatal(err)
	}
	_, meta, err := client.KV().Get("k", nil)
	if err != nil {
		t.Fatal(err)
	}
	blocked := make(chan error, 1)
	go func() {
		resp, err := http.Get(fmt.Sprintf("http://%s/v1/kv/k?index=%d&wait=5m", ln.Addr(), meta.LastIndex))
		if err == nil {
			resp.Body.Close()
		}
		blocked <- err
	}()
	// Make sure the query is in flight before shutting down.
	select {
	case <-st.blocking:
	case <-time.After(10 * time.Second):
		t.Fatal("blocking query never started")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	start := time.Now()
	if err := srv.Shutdown(ctx); err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	if time.Since(start) > 5*time.Second {
		t.Fatal("shutdown waited for the blocking query's full wait")
	}
	if err := <-served; err != nil {
		t.Fatalf("serve: %v", err)
	}
	select {
	case <-blocked:
	case <-time.After(10 * time.Second):
		t.Fatal("blocking client never answered")
	}
	if err := srv.Shutdown(ctx); err != nil {
		t.Fatalf("second shutdown: %v", err)
	}
}

// signalStore reports when a blocking query is about to park: its read ran
// with the watches set and found nothing newer than the client's index, so
// any later write must wake it rather than be seen by that first read.
type signalStore struct {
	*raftstore.Store
	blocking chan struct{}
}

func (s *signalStore) Query(ctx context.Context, opts structs.QueryOptions, meta *structs.QueryMeta, fn func(ws memdb.WatchSet) (uint64, error)) error {
	if opts.MinIndex == 0 {
		return s.Store.Query(ctx, opts, meta, fn)
	}
	first := true
	return s.Store.Query(ctx, opts, meta, func(ws memdb.WatchSet) (uint64, error) {
		idx, err := fn(ws)
		if first && err == nil && idx == opts.MinIndex {
			select {
			case s.blocking <- struct{}{}:
			default:
			}
		}
		first = false
		return idx, err
	})
}

// waitParked waits until a blocking query has parked.
func (s *signalStore) waitParked(t testing.TB) {
	t.Helper()
	select {
	case <-s.blocking:
	case <-time.After(10 * time.Second):
		t.Fatal("blocking query never parked")
	}
}

func TestServer_SubtreeRedirect(t *testing.T) {
	e := newEnv(t)
	resp, err := e.http.Client().Transport.RoundTrip(mustReq(t, "GET", e.http.URL+"/v1/kv?recurse"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 301 || resp.Header.Get("Location") != "/v1/kv/?recurse" {
		t.Fatalf("%d %v", resp.StatusCode, resp.Header)
	}
}
