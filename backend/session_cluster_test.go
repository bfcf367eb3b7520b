package backend_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"
	"github.com/minconsul/minconsul/testutil"
	"github.com/minconsul/minconsul/testutil/testagent"
)

// A lock held through a follower survives a leader failover with exactly
// one holder; the new leader re-arms TTL timers from the replicated state
// (an unrenewed TTL session still expires), and the contender gets the
// lock only once the holder lets go.
func TestCluster_LockSurvivesLeaderFailover(t *testing.T) {
	servers := testagent.StartCluster(t, 3)
	leader := testagent.Leader(t, servers)
	followers := testagent.Followers(servers, leader)
	hc, cc := followers[0].Client(t), followers[1].Client(t)
	opts := func() *api.LockOptions {
		return &api.LockOptions{Key: "cluster/lock", MonitorRetries: 30, MonitorRetryTime: 500 * time.Millisecond}
	}
	holder, err := hc.LockOpts(opts())
	if err != nil {
		t.Fatal(err)
	}
	var lost <-chan struct{}
	// The follower's node (and its serfHealth) reach the catalog shortly
	// after the cluster forms; a session needs both.
	testutil.Retry(t, 20*time.Second, func() error {
		var err error
		lost, err = holder.Lock(nil)
		return err
	})
	orphan, _, err := leader.Client(t).Session().CreateNoChecks(&api.SessionEntry{TTL: "10s"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	contender, err := cc.LockOpts(opts())
	if err != nil {
		t.Fatal(err)
	}
	acquired := make(chan error, 1)
	go func() {
		// Errors while the contender's node reaches the catalog are retried.
		deadline := time.Now().Add(30 * time.Second)
		for {
			ch, err := contender.Lock(nil)
			if ch != nil || time.Now().After(deadline) {
				acquired <- err
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
	}()
	testutil.Retry(t, 20*time.Second, func() error {
		if l, _, err := hc.Session().List(nil); err != nil || len(l) != 3 {
			return fmt.Errorf("%d sessions (%v), want holder, orphan and contender", len(l), err)
		}
		return nil
	})

	if err := leader.Shutdown(); err != nil {
		t.Logf("shutdown old leader: %v", err)
	}
	rest := followers
	newLeader := testagent.Leader(t, rest)
	testutil.Retry(t, 15*time.Second, func() error {
		if n := newLeader.Store().SessionTimers(); n < 3 {
			return fmt.Errorf("new leader armed %d timers, want >= 3", n)
		}
		return nil
	})
	// Exactly one holder through the election.
	p, _, err := hc.KV().Get("cluster/lock", nil)
	if err != nil || p == nil || p.Session == "" {
		t.Fatalf("lock entry after failover: %+v %v", p, err)
	}
	select {
	case <-lost:
		t.Fatal("holder lost the lock in the failover")
	case err := <-acquired:
		t.Fatalf("contender acquired a held lock (err %v)", err)
	default:
	}
	// The orphan TTL session dies on the new leader's timer.
	testutil.Retry(t, 40*time.Second, func() error {
		if s, _, _ := cc.Session().Info(orphan, nil); s != nil {
			return fmt.Errorf("orphan TTL session still alive")
		}
		return nil
	})
	select {
	case <-lost:
		t.Fatal("holder lost the lock while renewing")
	default:
	}
	if err := holder.Unlock(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-acquired:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("contender never acquired the released lock")
	}
	if err := contender.Unlock(); err != nil {
		t.Fatal(err)
	}
}
