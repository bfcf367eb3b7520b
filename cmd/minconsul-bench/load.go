package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// Load runs op from conc goroutines: warm unmeasured, then d measured. It
// returns operations per second over the measured window. The first error
// op returns stops the run and is returned.
func Load(ctx context.Context, conc int, warm, d time.Duration, newOp func(worker int) (op func() error, done func())) (float64, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		count   atomic.Int64
		stop    atomic.Bool
		errOnce sync.Once
		firstEr error
		wg      sync.WaitGroup
	)
	for i := 0; i < conc; i++ {
		op, done := newOp(i)
		wg.Add(1)
		go func() {
			defer wg.Done()
			if done != nil {
				defer done()
			}
			for !stop.Load() {
				if err := op(); err != nil {
					if stop.Load() || ctx.Err() != nil {
						return
					}
					errOnce.Do(func() { firstEr = err; cancel() })
					return
				}
				count.Add(1)
			}
		}()
	}
	// The two waits below are the measurement window itself, not a wait
	// for a condition.
	wait := func(d time.Duration) bool {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-t.C:
			return true
		case <-ctx.Done():
			return false
		}
	}
	ok := wait(warm)
	c0, t0 := count.Load(), time.Now()
	ok = ok && wait(d)
	c1, t1 := count.Load(), time.Now()
	stop.Store(true)
	cancel()
	wg.Wait()
	if firstEr != nil {
		return 0, firstEr
	}
	if !ok {
		return 0, ctx.Err()
	}
	return float64(c1-c0) / t1.Sub(t0).Seconds(), nil
}

// HTTPGetOp is one keep-alive GET of url that expects status 200 and
// discards the body; reuse it from one goroutine only.
func HTTPGetOp(ctx context.Context, client *http.Client, url string) func() error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return func() error { return err }
	}
	return func() error { return roundTrip(client, req) }
}

// roundTrip sends req on a keep-alive client and discards the answer,
// which must be a 200.
func roundTrip(client *http.Client, req *http.Request) error {
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s %s: status %d", req.Method, req.URL, resp.StatusCode)
	}
	return nil
}

// LoadHTTPGet drives GET url with conc keep-alive clients and returns req/s.
func LoadHTTPGet(ctx context.Context, client *http.Client, url string, conc int, warm, d time.Duration) (float64, error) {
	return Load(ctx, conc, warm, d, func(int) (func() error, func()) {
		return HTTPGetOp(ctx, client, url), nil
	})
}

var errNoAnswer = errors.New("no answer")

// Alternate measures two sides in interleaved rounds (a, b, a, b, ...), d
// split evenly between the rounds, and returns each side's mean rate. On a
// shared machine the load other work adds then falls on both sides alike
// instead of on whichever ran second.
func Alternate(ctx context.Context, rounds int, warm, d time.Duration, a, b func(warm, d time.Duration) (float64, error)) (float64, float64, error) {
	r, err := AlternateN(ctx, rounds, warm, d, a, b)
	if err != nil {
		return 0, 0, err
	}
	return r[0], r[1], nil
}

// AlternateN is Alternate for any number of sides.
func AlternateN(ctx context.Context, rounds int, warm, d time.Duration, sides ...func(warm, d time.Duration) (float64, error)) ([]float64, error) {
	if rounds < 1 {
		rounds = 1
	}
	slice := d / time.Duration(rounds)
	sum := make([]float64, len(sides))
	for r := 0; r < rounds; r++ {
		w := warm
		if r > 0 {
			w = warm / 4
		}
		for i, side := range sides {
			rate, err := side(w, slice)
			if err != nil {
				return nil, err
			}
			sum[i] += rate
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
	}
	for i := range sum {
		sum[i] /= float64(rounds)
	}
	return sum, nil
}
