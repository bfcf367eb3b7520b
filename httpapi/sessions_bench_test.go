package httpapi_test

import (
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"
	"github.com/hashicorp/go-hclog"
	"github.com/minconsul/minconsul/testutil"
	"github.com/minconsul/minconsul/testutil/testagent"
)

// Lock round trips (acquire + release) through the official client, next
// to the same round trip done with plain KV CAS writes (take with
// ?cas=<index>, give back with another CAS) in the same run:
//
//	go test -run XXX -bench 'BenchmarkLockRoundTrip' -benchtime 3s ./httpapi/
//
// cas: 2 writes; lock-session: api.Lock on an existing session (a read,
// the acquire write, monitorLock's ?consistent read and its blocking
// re-read woken by the release, the release write); lock: api.Lock as most
// programs use it (it also creates and destroys its session: 4 writes).
// Both sides go through one http.Client (the api client's pooled
// transport, connections kept alive); req/op counts what each sent. The
// agents log at info, a production agent's level.
func BenchmarkLockRoundTrip(b *testing.B) {
	b.Run("1node", func(b *testing.B) {
		a := testagent.Start(b, testagent.Options{LogLevel: hclog.Info})
		benchLocks(b, a.HTTPAddr())
	})
	b.Run("3nodes", func(b *testing.B) {
		servers := testagent.StartClusterWith(b, 3, testagent.Options{LogLevel: hclog.Info})
		l := testagent.Leader(b, servers)
		benchLocks(b, l.HTTPAddr())
	})
}

// countingTransport counts the requests sent through it.
type countingTransport struct {
	n  atomic.Int64
	rt http.RoundTripper
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return c.rt.RoundTrip(r)
}

func benchLocks(b *testing.B, addr string) {
	ct := &countingTransport{rt: api.DefaultConfig().Transport}
	hc := &http.Client{Transport: ct}
	c, err := api.NewClient(&api.Config{Address: addr, HttpClient: hc})
	if err != nil {
		b.Fatal(err)
	}
	waitSession(b, c)
	kv := c.KV()
	// measure runs f b.N times and reports the requests each sent.
	measure := func(b *testing.B, f func()) {
		b.ResetTimer()
		start := ct.n.Load()
		for i := 0; i < b.N; i++ {
			f()
		}
		b.StopTimer()
		// monitorLock's blocking read may still be on its way back.
		b.ReportMetric(float64(ct.n.Load()-start)/float64(b.N), "req/op")
	}
	casRound := casLock(b, kv, hc, addr, "bench/cas")
	lockRound := func(b *testing.B, l *api.Lock) func() {
		return func() {
			if _, err := l.Lock(nil); err != nil {
				b.Fatal(err)
			}
			if err := l.Unlock(); err != nil {
				b.Fatal(err)
			}
		}
	}
	id, _, err := c.Session().Create(&api.SessionEntry{TTL: "60s"}, nil)
	if err != nil {
		b.Fatal(err)
	}
	withSession, err := c.LockOpts(&api.LockOptions{Key: "bench/lock-session", Session: id})
	if err != nil {
		b.Fatal(err)
	}
	ownSession, err := c.LockKey("bench/lock")
	if err != nil {
		b.Fatal(err)
	}
	b.Run("cas", func(b *testing.B) { measure(b, casRound) })
	b.Run("lock-session", func(b *testing.B) { measure(b, lockRound(b, withSession)) })
	b.Run("lock", func(b *testing.B) { measure(b, lockRound(b, ownSession)) })
	// The three in turn, an op being a run of 50 round trips of each: drift
	// in what else runs on the machine hits all three alike, and what a
	// lock leaves running after Unlock (monitorLock's read, the session's
	// destroy) overlaps the next run only at its start. Ratios are rates
	// against cas (a cas round trip's time over the lock's).
	b.Run("interleaved", func(b *testing.B) {
		const run = 50
		rounds := []func(){casRound, lockRound(b, withSession), lockRound(b, ownSession)}
		var took [3]time.Duration
		for i := 0; i < b.N; i++ {
			for j, f := range rounds {
				t0 := time.Now()
				for range run {
					f()
				}
				took[j] += time.Since(t0)
			}
		}
		n := float64(b.N * run)
		b.ReportMetric(float64(took[0].Nanoseconds())/n, "cas-ns")
		b.ReportMetric(float64(took[1].Nanoseconds())/n, "lock-session-ns")
		b.ReportMetric(float64(took[2].Nanoseconds())/n, "lock-ns")
		b.ReportMetric(float64(took[0])/float64(took[1]), "lock-session/cas")
		b.ReportMetric(float64(took[0])/float64(took[2]), "lock/cas")
	})
}

// casLock is a lock done with two raw ?cas PUTs on key (take, give back),
// through hc. Raw PUTs: the api client does not expose a write's index,
// and a CAS lock needs it for the next CAS (minconsul answers it in
// X-Consul-Index).
func casLock(b *testing.B, kv *api.KV, hc *http.Client, addr, key string) func() {
	if _, err := kv.Put(&api.KVPair{Key: key, Value: []byte("free")}, nil); err != nil {
		b.Fatal(err)
	}
	p, _, err := kv.Get(key, nil)
	if err != nil {
		b.Fatal(err)
	}
	idx := p.ModifyIndex
	return func() {
		for _, v := range []string{"held", "free"} {
			url := fmt.Sprintf("http://%s/v1/kv/%s?cas=%d", addr, key, idx)
			req, _ := http.NewRequest(http.MethodPut, url, strings.NewReader(v))
			resp, err := hc.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if string(body) != "true" {
				b.Fatalf("cas: %s", body)
			}
			idx, _ = strconv.ParseUint(resp.Header.Get("X-Consul-Index"), 10, 64)
		}
	}
}

func waitSession(b *testing.B, c *api.Client) {
	testutil.Retry(b, 20*time.Second, func() error {
		id, _, err := c.Session().Create(nil, nil)
		if err == nil {
			_, err = c.Session().Destroy(id, nil)
		}
		return err
	})
}

// A 64-operation transaction against 64 single PUTs of the same keys
// (one op = 64 keys written):
//
//	go test -run XXX -bench BenchmarkTxn64 ./httpapi/
func BenchmarkTxn64(b *testing.B) {
	a := testagent.Start(b, testagent.Options{})
	c := a.Client(b)
	ops := make(api.TxnOps, 64)
	for i := range ops {
		ops[i] = &api.TxnOp{KV: &api.KVTxnOp{Verb: api.KVSet, Key: fmt.Sprintf("bench/txn/%02d", i), Value: []byte("value")}}
	}
	b.Run("puts", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			for _, op := range ops {
				if _, err := c.KV().Put(&api.KVPair{Key: op.KV.Key, Value: op.KV.Value}, nil); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
	b.Run("txn", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			ok, _, _, err := c.Txn().Txn(ops, nil)
			if err != nil || !ok {
				b.Fatalf("txn: %v %v", ok, err)
			}
		}
	})
}

// Idle CPU of a leader holding 10,000 TTL sessions (timers armed), next to
// the same agent before it had any, each over the same idle window; and
// how long a re-arm of all of them takes (what a new leader does):
//
//	go test -run XXX -bench BenchmarkIdleSessions -benchtime 1x ./httpapi/
func BenchmarkIdleSessions(b *testing.B) {
	a := testagent.Start(b, testagent.Options{})
	c := a.Client(b)
	waitSession(b, c)
	const window = 5 * time.Second
	cpu := func() time.Duration {
		var ru syscall.Rusage
		_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
		return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	idle := func() float64 {
		start, t0 := cpu(), time.Now()
		time.Sleep(window) // the measurement itself: an idle window
		return float64(cpu()-start) / float64(time.Since(t0)) * 100
	}
	base := idle()
	var wg sync.WaitGroup
	sem := make(chan struct{}, 32)
	for i := 0; i < 10000; i++ {
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
	if n := a.Store().SessionTimers(); n != 10000 {
		b.Fatalf("%d timers armed", n)
	}
	loaded := idle()
	t0 := time.Now()
	a.Store().RearmSessionTimers()
	rearm := time.Since(t0)
	b.ReportMetric(base, "idle-cpu%-0-sessions")
	b.ReportMetric(loaded, "idle-cpu%-10k-sessions")
	b.ReportMetric(float64(rearm.Milliseconds()), "rearm-10k-ms")
}
