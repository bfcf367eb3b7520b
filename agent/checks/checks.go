// Package checks runs an agent's health checks: HTTP, TCP, script,
// gRPC, H2PING and Docker probes on their interval, and TTL deadlines.
// Each reports its results through a callback, after the thresholds
// (SuccessBeforePassing, FailuresBeforeWarning, FailuresBeforeCritical)
// have had their say; what a result means for the catalog is the local
// state's business (package local), and nothing here reads or writes it.
// Alias checks watch the local state, so they live in package local.
package checks

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/minconsul/minconsul/structs"
)

// MaxOutput is how much check output Consul keeps by default
// (check_output_max_size, 4 KiB).
const MaxOutput = 4096

// OutputCap is the output cap of one check, as Consul computes it: the
// agent's check_output_max_size (0: MaxOutput), lowered (never raised) by
// the check's own OutputMaxSize when that is set.
func OutputCap(agentMax, checkMax int) int {
	if agentMax <= 0 {
		agentMax = MaxOutput
	}
	if checkMax > 0 && checkMax < agentMax {
		return checkMax
	}
	return agentMax
}

// capOr is a probe's cap, MaxOutput when the probe was built without one.
func capOr(n int) int {
	if n <= 0 {
		return MaxOutput
	}
	return n
}

// Stagger is how long a new probe loop waits before its first probe: a
// random time within one interval, as Consul, so that checks registered
// together (an agent starting with many) do not all probe at once. TTL
// deadlines and alias checks start at once and are not staggered.
func Stagger(interval time.Duration) time.Duration {
	if interval <= 0 {
		return 0
	}
	return rand.N(interval)
}

// Probe checks something once.
type Probe interface {
	// Interval is the time between two probes.
	Interval() time.Duration
	// Probe answers a status (passing, warning, critical) and its output.
	Probe(ctx context.Context) (status, output string)
}

// Run probes p after first (Stagger(p.Interval()) in the agent), then
// every interval, and reports each result, until ctx ends. The caller
// owns the goroutine it runs in.
func Run(ctx context.Context, p Probe, first time.Duration, report func(status, output string)) {
	t := time.NewTimer(first)
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

// Thresholds are how many consecutive results it takes to change a
// check's status (0 or 1: one).
type Thresholds struct {
	SuccessBeforePassing   int
	FailuresBeforeWarning  int // 0: the same as FailuresBeforeCritical
	FailuresBeforeCritical int
}

// Filter wraps report so that a passing (or warning) result is reported
// only after SuccessBeforePassing of them in a row, and a critical one
// only after FailuresBeforeCritical in a row; from FailuresBeforeWarning
// failures on, until then, it is reported as warning. The first result is
// reported as it is, as Consul's counters start at the thresholds. The
// returned func is not safe for concurrent use: one probe loop calls it.
func (t Thresholds) Filter(report func(status, output string)) func(status, output string) {
	warnAt := t.FailuresBeforeWarning
	if warnAt == 0 {
		warnAt = t.FailuresBeforeCritical
	}
	successes, failures := t.SuccessBeforePassing, t.FailuresBeforeCritical
	return func(status, output string) {
		if status == structs.HealthPassing || status == structs.HealthWarning {
			successes++
			failures = 0
			if successes >= t.SuccessBeforePassing {
				report(status, output)
			}
			return
		}
		failures++
		successes = 0
		switch {
		case failures >= t.FailuresBeforeCritical:
			report(status, output)
		case failures >= warnAt:
			report(structs.HealthWarning, output)
		}
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

// TTLOutput caps what a TTL update (check/pass|warn|fail|update) stores
// at max bytes (0: MaxOutput), with Consul's note of how much was kept.
func TTLOutput(output string, max int) string {
	max = capOr(max)
	if total := len(output); total > max {
		return fmt.Sprintf("%s ... (captured %d of %d bytes)", output[:max], max, total)
	}
	return output
}

// tail keeps the last max bytes written to it, and counts them all: a
// check's output is what the command said last.
type tail struct {
	max   int
	buf   []byte
	total int64
}

func newTail(max int) *tail { return &tail{max: max} }

func (t *tail) Write(p []byte) (int, error) {
	n := len(p)
	t.total += int64(n)
	if n >= t.max {
		t.buf = append(t.buf[:0], p[n-t.max:]...)
		return n, nil
	}
	if over := len(t.buf) + n - t.max; over > 0 {
		t.buf = append(t.buf[:0], t.buf[over:]...)
	}
	t.buf = append(t.buf, p...)
	return n, nil
}

func (t *tail) String() string { return string(t.buf) }

// captured is a command's output with Consul's note when it was cut.
func (t *tail) captured() string {
	if t.total > int64(len(t.buf)) {
		return fmt.Sprintf("Captured %d of %d bytes\n...\n%s", len(t.buf), t.total, t.buf)
	}
	return string(t.buf)
}
