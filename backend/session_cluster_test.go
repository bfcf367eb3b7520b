package backend_test

import (
	"fmt"
	"sync"
	"sync/atomic"
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
	// On the leader's own node, tied to its serfHealth, no TTL: it ends
	// when that node fails or leaves.
	onLeader, _, err := leader.Client(t).Session().Create(&api.SessionEntry{Name: "on-old-leader"}, nil)
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
		if l, _, err := hc.Session().List(nil); err != nil || len(l) != 4 {
			return fmt.Errorf("%d sessions (%v), want holder, orphan, on-old-leader and contender", len(l), err)
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
	// The old leader's node failed (or left): its session is gone.
	testutil.Retry(t, 30*time.Second, func() error {
		if s, _, _ := cc.Session().Info(onLeader, nil); s != nil {
			return fmt.Errorf("session on the old leader's node still alive")
		}
		return nil
	})
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

// Concurrent conflicting transactions through every server are atomic:
// writers move two keys together (cas on one, set on the other, in one
// txn), readers read both in one read-only txn and must never see them
// apart, and the final state is one writer's value on both keys.
func TestCluster_ConcurrentTxnsAreAtomic(t *testing.T) {
	servers := testagent.StartCluster(t, 3)
	clients := make([]*api.Client, len(servers))
	for i, s := range servers {
		clients[i] = s.Client(t)
	}
	set := api.TxnOps{
		{KV: &api.KVTxnOp{Verb: api.KVSet, Key: "pair/a", Value: []byte("init")}},
		{KV: &api.KVTxnOp{Verb: api.KVSet, Key: "pair/b", Value: []byte("init")}},
	}
	if ok, _, _, err := clients[0].Txn().Txn(set, nil); err != nil || !ok {
		t.Fatalf("seed: %v %v", ok, err)
	}
	const writers, rounds = 6, 15
	var wg sync.WaitGroup
	var committed atomic.Int32
	errs := make(chan error, 64)
	stop := make(chan struct{})
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			c := clients[w%len(clients)]
			for r := 0; r < rounds; r++ {
				p, _, err := c.KV().Get("pair/a", nil)
				if err != nil {
					errs <- err
					return
				}
				v := []byte(fmt.Sprintf("w%d-r%d", w, r))
				ok, resp, _, err := c.Txn().Txn(api.TxnOps{
					{KV: &api.KVTxnOp{Verb: api.KVCAS, Key: "pair/a", Value: v, Index: p.ModifyIndex}},
					{KV: &api.KVTxnOp{Verb: api.KVSet, Key: "pair/b", Value: v}},
				}, nil)
				if err != nil {
					errs <- err
					return
				}
				if ok {
					committed.Add(1)
				} else if len(resp.Errors) != 1 || resp.Errors[0].OpIndex != 0 {
					errs <- fmt.Errorf("conflict answer %+v", resp.Errors)
					return
				}
			}
		}(w)
	}
	var readers sync.WaitGroup
	var reads atomic.Int32
	for rd := 0; rd < 3; rd++ {
		readers.Add(1)
		go func(rd int) {
			defer readers.Done()
			c := clients[rd]
			for {
				select {
				case <-stop:
					return
				default:
				}
				ok, resp, _, err := c.Txn().Txn(api.TxnOps{
					{KV: &api.KVTxnOp{Verb: api.KVGet, Key: "pair/a"}},
					{KV: &api.KVTxnOp{Verb: api.KVGet, Key: "pair/b"}},
				}, nil)
				if err != nil || !ok || len(resp.Results) != 2 {
					errs <- fmt.Errorf("read txn: %v %v %+v", ok, err, resp)
					return
				}
				if a, b := string(resp.Results[0].KV.Value), string(resp.Results[1].KV.Value); a != b {
					errs <- fmt.Errorf("torn read: a=%q b=%q", a, b)
					return
				}
				reads.Add(1)
			}
		}(rd)
	}
	wg.Wait()
	close(stop)
	readers.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if committed.Load() == 0 || reads.Load() == 0 {
		t.Fatalf("%d commits, %d reads", committed.Load(), reads.Load())
	}
	a, _, _ := clients[0].KV().Get("pair/a", nil)
	b, _, _ := clients[0].KV().Get("pair/b", nil)
	if a == nil || b == nil || string(a.Value) != string(b.Value) || string(a.Value) == "init" {
		t.Fatalf("final state a=%+v b=%+v", a, b)
	}
	t.Logf("%d of %d conflicting txns committed, %d atomic reads", committed.Load(), writers*rounds, reads.Load())
}

// Leader failover with 10,000 TTL sessions: the time from the leader's
// shutdown until a new leader has armed every session's timer, next to the
// time until a new leader exists at all (the election it rides on):
//
//	go test -run XXX -bench BenchmarkSessionFailover -benchtime 1x ./backend/
func BenchmarkSessionFailover(b *testing.B) {
	servers := testagent.StartCluster(b, 3)
	leader := testagent.Leader(b, servers)
	c := leader.Client(b)
	const n = 10000
	var wg sync.WaitGroup
	sem := make(chan struct{}, 64)
	for i := 0; i < n; i++ {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if _, _, err := c.Session().CreateNoChecks(&api.SessionEntry{TTL: "24h"}, nil); err != nil {
				b.Error(err)
			}
		}()
	}
	wg.Wait()
	rest := testagent.Followers(servers, leader)
	start := time.Now()
	_ = leader.Shutdown()
	var elected, armed time.Duration
	for armed == 0 {
		for _, a := range rest {
			if elected == 0 && a.IsLeader() {
				elected = time.Since(start)
			}
			if a.IsLeader() && a.Store().SessionTimers() == n {
				armed = time.Since(start)
			}
		}
		if time.Since(start) > 30*time.Second {
			b.Fatalf("timers not re-armed within 30s (elected after %v)", elected)
		}
		time.Sleep(time.Millisecond) // sampling the two moments, not waiting on a condition
	}
	b.ReportMetric(float64(elected.Milliseconds()), "election-ms")
	b.ReportMetric(float64(armed.Milliseconds()), "rearmed-10k-ms")
}
