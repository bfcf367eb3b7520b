package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"
)

// PutRate is the write rate at one concurrency.
type PutRate struct {
	Clients int
	OpsSec  float64
}

// KVPutDisk measures PUT /v1/kv on a single bootstrapped server whose Raft
// log lives on disk, at each of o.PutClients concurrencies, and reports the
// largest:smallest ratio (group commit: concurrent writers should share
// fsyncs).
func KVPutDisk(ctx context.Context, o Options) ([]Result, []PutRate, error) {
	o = o.withDefaults()
	dir, err := os.MkdirTemp(o.TempDir, "minconsul-bench-put")
	if err != nil {
		return nil, nil, err
	}
	defer os.RemoveAll(dir)
	a, err := StartAgent(ctx, DiskConfig("bench-put", dir), o.Logger)
	if err != nil {
		return nil, nil, err
	}
	defer a.Shutdown()
	base := "http://" + a.HTTPAddr()
	var (
		rates   []PutRate
		results []Result
	)
	for _, c := range o.PutClients {
		stopProfile := o.profile(fmt.Sprintf("kv-put-c%d", c))
		rate, err := LoadHTTPPut(ctx, base, c, o.Warmup, o.Duration)
		stopProfile()
		if err != nil {
			return nil, nil, fmt.Errorf("PUT with %d clients: %w", c, err)
		}
		rates = append(rates, PutRate{Clients: c, OpsSec: rate})
		results = append(results, Result{Name: fmt.Sprintf("kv-put-disk c=%d", c), Figure: rate, Unit: "ops/s", Target: "-", Pass: true})
	}
	lo, hi := rates[0], rates[len(rates)-1]
	r := Result{
		Name: fmt.Sprintf("kv-put-disk %d:%d", hi.Clients, lo.Clients), Figure: hi.OpsSec, Unit: "ops/s",
		Baseline: lo.OpsSec, Ratio: ratio(hi.OpsSec, lo.OpsSec), Target: "ratio >= 10",
	}
	r.Pass = r.Ratio >= 10
	return append(results, r), rates, nil
}

// HTTPPutOp is one keep-alive PUT of a small value to key.
func HTTPPutOp(ctx context.Context, client *http.Client, url string) func() error {
	const value = "value-0123456789-0123456789-0123456789-0123456789-0123456789"
	return func() error {
		req, err := http.NewRequestWithContext(ctx, http.MethodPut, url, strings.NewReader(value))
		if err != nil {
			return err
		}
		return roundTrip(client, req)
	}
}

// LoadHTTPPut drives PUTs from conc writers, each to its own key, and
// returns ops/s.
func LoadHTTPPut(ctx context.Context, base string, conc int, warm, d time.Duration) (float64, error) {
	client := NewHTTPClient(conc)
	defer client.CloseIdleConnections()
	return Load(ctx, conc, warm, d, func(w int) (func() error, func()) {
		return HTTPPutOp(ctx, client, fmt.Sprintf("%s/v1/kv/bench/put/%d", base, w)), nil
	})
}
