package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/minconsul/minconsul/testutil"
)

// DevProcess is a `minconsul agent -dev` child process.
type DevProcess struct {
	*testutil.Proc
	Leader time.Duration // process start -> first non-empty /v1/status/leader
}

// StartDevProcess runs `bin agent -dev` with every port 0 (which makes it
// a lone -dev agent: in-memory Raft, no gossip) and waits for
// /v1/status/leader to name a leader.
func StartDevProcess(ctx context.Context, bin string) (*DevProcess, error) {
	log := &limitedWriter{n: 64 << 10}
	started := time.Now()
	// -docker=false: -dev would otherwise register the host's containers.
	p, err := testutil.StartProc(ctx, bin, append([]string{"agent", "-dev", "-docker=false", "-node", "bench",
		"-client", "127.0.0.1", "-bind", "127.0.0.1"}, testutil.Addrs{}.PortFlags()...),
		func(line string) { fmt.Fprintln(log, line) }, 20*time.Second)
	if err != nil {
		return nil, fmt.Errorf("%w\n%s", err, log.String())
	}
	client := &http.Client{Timeout: time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	url := "http://" + p.HTTP + "/v1/status/leader"
	deadline := started.Add(20 * time.Second)
	for {
		if leader, err := getString(ctx, client, url); err == nil && leader != `""` && leader != "" {
			return &DevProcess{Proc: p, Leader: time.Since(started)}, nil
		}
		if !p.Alive() {
			return nil, fmt.Errorf("minconsul exited before electing a leader: %v\n%s", p.Err(), log.String())
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			p.Kill()
			return nil, fmt.Errorf("no leader on %s within 20s\n%s", url, log.String())
		}
		time.Sleep(time.Millisecond) // poll interval, bounded by the deadline
	}
}

// Stop kills the process.
func (p *DevProcess) Stop() { p.Kill() }

// RSS reads VmRSS of the process in bytes.
func (p *DevProcess) RSS() (uint64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", p.Pid()))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, err := strconv.ParseUint(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb * 1024, err
		}
	}
	return 0, errors.New("no VmRSS line")
}

// IdleRSS measures the resident set of `minconsul agent -dev` after it
// elected itself and idled o.Idle, and the median time from process start
// to a non-empty /v1/status/leader over o.Runs starts.
func IdleRSS(ctx context.Context, o Options) ([]Result, error) {
	o = o.withDefaults()
	bin := o.Binary
	if bin == "" {
		dir, err := os.MkdirTemp(o.TempDir, "minconsul-bench-bin")
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(dir)
		if bin, err = testutil.BuildBinary(ctx, dir); err != nil {
			return nil, err
		}
	}
	var (
		starts []time.Duration
		rss    uint64
	)
	for i := 0; i < o.Runs; i++ {
		p, err := StartDevProcess(ctx, bin)
		if err != nil {
			return nil, err
		}
		starts = append(starts, p.Leader)
		if i == 0 {
			// Idling is the point here, not waiting for a condition.
			select {
			case <-time.After(o.Idle):
			case <-ctx.Done():
			}
			rss, err = p.RSS()
		}
		p.Stop()
		if err != nil {
			return nil, err
		}
	}
	slices.Sort(starts)
	med := starts[len(starts)/2]
	return []Result{
		{Name: "idle-rss agent -dev", Figure: float64(rss) / (1 << 20), Unit: "MiB", Target: "< 30 MiB", Pass: rss < 30<<20,
			Note: fmt.Sprintf("after %s idle", o.Idle)},
		{Name: "start-to-leader -dev", Figure: float64(med) / 1e6, Unit: "ms", Target: "< 200 ms", Pass: med < 200*time.Millisecond,
			Note: fmt.Sprintf("median of %d: %v", len(starts), roundAll(starts))},
	}, nil
}

func roundAll(ds []time.Duration) []time.Duration {
	out := make([]time.Duration, len(ds))
	for i, d := range ds {
		out[i] = d.Round(100 * time.Microsecond)
	}
	return out
}

func getString(ctx context.Context, client *http.Client, url string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return "", err
	}
	resp, err := client.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("status %d", resp.StatusCode)
	}
	return strings.TrimSpace(string(b)), nil
}

// limitedWriter keeps the first n bytes of a child's output.
type limitedWriter struct {
	mu  sync.Mutex
	buf bytes.Buffer
	n   int
}

func (l *limitedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if k := min(len(p), l.n-l.buf.Len()); k > 0 {
		l.buf.Write(p[:k])
	}
	return len(p), nil
}

func (l *limitedWriter) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}
