// Package checks runs an agent's health checks: HTTP, TCP and script
// probes on their interval, and TTL deadlines. Each reports its results
// through a callback; what a result means for the catalog is the local
// state's business (package local), and nothing here reads or writes it.
package checks

import (
	"context"
	"time"
)

// MaxOutput is how much check output Consul keeps (check_output_max_size,
// 4 KiB).
const MaxOutput = 4096

// Probe checks something once.
type Probe interface {
	// Interval is the time between two probes.
	Interval() time.Duration
	// Probe answers a status (passing, warning, critical) and its output.
	Probe(ctx context.Context) (status, output string)
}

// Run probes p at once (so a new service's health is known quickly), then
// every interval, and reports each result, until ctx ends. The caller
// owns the goroutine it runs in.
func Run(ctx context.Context, p Probe, report func(status, output string)) {
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		status, out := p.Probe(ctx)
		if ctx.Err() != nil {
			return
		}
		report(status, out)
		t.Reset(p.Interval())
	}
}

// TTL is a TTL check's deadline: unless Reset in time, expired runs.
type TTL struct {
	ttl   time.Duration
	timer *time.Timer
}

// StartTTL arms a deadline of ttl.
func StartTTL(ttl time.Duration, expired func()) *TTL {
	return &TTL{ttl: ttl, timer: time.AfterFunc(ttl, expired)}
}

// Reset restarts the deadline after an update.
func (t *TTL) Reset() { t.timer.Reset(t.ttl) }

// Stop disarms it.
func (t *TTL) Stop() { t.timer.Stop() }
