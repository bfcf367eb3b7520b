package backend_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"
	"github.com/minconsul/minconsul/testutil"
	"github.com/minconsul/minconsul/testutil/testagent"
)

// A blocking default-mode read sent to a follower or to a client agent
// parks on the leader, which owns the watch, and is cancelled there when
// the HTTP client hangs up.
func TestCluster_BlockingReadParksOnLeader(t *testing.T) {
	servers := testagent.StartCluster(t, 3)
	leader := testagent.Leader(t, servers)
	follower := testagent.Followers(servers, leader)[0]
	client := testagent.StartClient(t, "client1", "127.0.0.20", servers[0])
	if _, err := leader.Client(t).KV().Put(&api.KVPair{Key: "w", Value: []byte("1")}, nil); err != nil {
		t.Fatal(err)
	}
	_, meta, err := leader.Client(t).KV().Get("w", nil)
	if err != nil {
		t.Fatal(err)
	}
	parked := func(want map[*testagent.Agent]int) func() error {
		return func() error {
			for a, n := range want {
				if got := a.Store().BlockingQueries(); got != n {
					return fmt.Errorf("%s: %d blocking queries parked, want %d", a.NodeName(), got, n)
				}
			}
			return nil
		}
	}
	for _, via := range []*testagent.Agent{follower, client} {
		ctx, cancel := context.WithCancel(context.Background())
		url := fmt.Sprintf("http://%s/v1/kv/w?index=%d&wait=5m", via.HTTPAddr(), meta.LastIndex)
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		done := make(chan error, 1)
		go func() {
			resp, err := http.DefaultClient.Do(req)
			if err == nil {
				resp.Body.Close()
			}
			done <- err
		}()
		testutil.Retry(t, 10*time.Second, parked(map[*testagent.Agent]int{leader: 1, follower: 0}))
		cancel()
		<-done
		testutil.Retry(t, 10*time.Second, parked(map[*testagent.Agent]int{leader: 0, follower: 0}))
	}
}

// Operator calls through a follower and a client agent run where they
// belong (a snapshot from the leader, a restore on the leader) and
// answer as the leader does.
func TestCluster_OperatorCallsForwarded(t *testing.T) {
	servers := testagent.StartCluster(t, 3)
	leader := testagent.Leader(t, servers)
	follower := testagent.Followers(servers, leader)[0]
	client := testagent.StartClient(t, "client1", "127.0.0.21", servers[0])
	kv := leader.Client(t).KV()
	if _, err := kv.Put(&api.KVPair{Key: "snap", Value: []byte("before")}, nil); err != nil {
		t.Fatal(err)
	}
	_, meta, err := kv.Get("snap", nil)
	if err != nil {
		t.Fatal(err)
	}
	var archive []byte
	for _, via := range []*testagent.Agent{follower, client} {
		c := via.Client(t)
		rc, qm, err := c.Snapshot().Save(nil)
		if err != nil {
			t.Fatalf("save via %s: %v", via.NodeName(), err)
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil || len(b) == 0 || qm.LastIndex < meta.LastIndex || !qm.KnownLeader {
			t.Fatalf("save via %s: %d bytes, index %d (want >= %d), known leader %v, %v", via.NodeName(), len(b), qm.LastIndex, meta.LastIndex, qm.KnownLeader, err)
		}
		archive = b
		cfg, err := c.Operator().RaftGetConfiguration(nil)
		if err != nil || len(cfg.Servers) != 3 {
			t.Fatalf("raft configuration via %s: %+v %v", via.NodeName(), cfg, err)
		}
		l, err := c.Status().Leader()
		if err != nil || l != leader.Store().Leader() {
			t.Fatalf("leader via %s: %q %v, want %q", via.NodeName(), l, err, leader.Store().Leader())
		}
		if err := c.Operator().RaftRemovePeerByID("nope", nil); err == nil {
			t.Fatalf("removing an unknown peer via %s succeeded", via.NodeName())
		}
		// A read added to the contract is forwarded with no code of its own.
		if u, qm, err := c.Operator().Usage(nil); err != nil || u.Usage["dc1"].Nodes != 4 || !qm.KnownLeader {
			t.Fatalf("usage via %s: %+v %+v %v", via.NodeName(), u, qm, err)
		}
	}
	if _, err := kv.Put(&api.KVPair{Key: "snap", Value: []byte("after")}, nil); err != nil {
		t.Fatal(err)
	}
	if err := client.Client(t).Snapshot().Restore(nil, bytes.NewReader(archive)); err != nil {
		t.Fatalf("restore via client: %v", err)
	}
	p, _, err := follower.Client(t).KV().Get("snap", nil)
	if err != nil || p == nil || string(p.Value) != "before" {
		t.Fatalf("after restore: %+v %v", p, err)
	}
	// A bad archive is refused by the leader, and the refusal comes back
	// through the forwarding with its status.
	if err := follower.Client(t).Snapshot().Restore(nil, bytes.NewReader([]byte("junk"))); err == nil || !bytes.Contains([]byte(err.Error()), []byte("400")) {
		t.Fatalf("bad archive via follower: %v", err)
	}
}
