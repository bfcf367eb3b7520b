package httpapi

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"

	"github.com/minconsul/minconsul/testutil"
)

func TestServer_ServeShutdownEndsBlockingQueries(t *testing.T) {
	st := newStore(t)
	srv := New(Config{Datacenter: "dc1", NodeName: "node1"}, newBackend(t, st), nil, testLogger(t))
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
	testutil.Retry(t, 10*time.Second, func() error {
		if st.BlockingQueries() != 1 {
			return fmt.Errorf("blocking query not parked yet")
		}
		return nil
	})
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
