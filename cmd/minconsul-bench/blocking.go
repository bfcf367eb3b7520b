package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// WakeStats is the outcome of one blocking-query wake-up.
type WakeStats struct {
	Watchers int           // parked queries
	Last     time.Duration // PUT sent -> last answer received
	Median   time.Duration // PUT sent -> median answer
	First    time.Duration
	PutRTT   time.Duration // PUT sent -> PUT answered
	Park     time.Duration // time to dial, write and park them all
	// CPU used from the PUT to the last answer: the agent's process
	// (server) and the watcher child (client).
	ServerCPU, ClientCPU time.Duration
	// Minor page faults in the agent's process over the same span: the
	// first touch of memory, which is most of what a first wake costs.
	ServerFaults int64
}

// RaiseNoFile lifts RLIMIT_NOFILE to at least want (raising the hard limit
// too when allowed) and returns the resulting soft limit.
func RaiseNoFile(want uint64) (uint64, error) {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		return 0, err
	}
	if rl.Cur >= want {
		return rl.Cur, nil
	}
	nl := rl
	nl.Cur = want
	if nl.Max < want {
		nl.Max = want
	}
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &nl); err != nil {
		// Not allowed to raise the hard limit: take what it allows.
		nl = syscall.Rlimit{Cur: rl.Max, Max: rl.Max}
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &nl); err != nil {
			return rl.Cur, err
		}
	}
	return nl.Cur, nil
}

// BlockingWake parks o.Watchers blocking queries (GET /v1/kv/BenchKey
// ?index=N&wait=5m), each on its own TCP connection to an in-process -dev
// agent, then sends one PUT and measures until every query has answered:
// a first round on fresh connections (cold) and a second on the same
// keep-alive connections (steady). The baseline is the same measurement
// against a bare net/http server whose handler parks every GET on a
// channel that the PUT closes, answering with the agent's captured
// response: what net/http itself costs on this machine.
//
// The client ends live in a child process (this executable re-run, see
// RunChildIfRequested) that writes pre-built requests on raw connections:
// the server is what gets measured, its CPU profile holds no client work,
// and each process needs only one fd per watcher (RLIMIT_NOFILE's hard
// limit is often 20k and cannot always be raised).
func BlockingWake(ctx context.Context, o Options) ([]Result, []WakeStats, error) {
	o = o.withDefaults()
	n := o.Watchers
	limit, err := RaiseNoFile(uint64(n + 2048))
	if err != nil {
		return nil, nil, fmt.Errorf("rlimit: %w", err)
	}
	if int(limit) < n+256 {
		return nil, nil, fmt.Errorf("RLIMIT_NOFILE=%d is too low for %d watchers", limit, n)
	}
	a, err := StartAgent(ctx, DevConfig("bench-block"), o.Logger)
	if err != nil {
		return nil, nil, err
	}
	addr := a.HTTPAddr()
	url := "http://" + addr + "/v1/kv/" + BenchKey
	client := NewHTTPClient(1)
	defer client.CloseIdleConnections()
	if err := httpPut(ctx, client, url, "v0"); err != nil {
		a.Shutdown()
		return nil, nil, err
	}
	resp, err := Capture(ctx, client, url)
	if err != nil {
		a.Shutdown()
		return nil, nil, err
	}
	index, err := strconv.ParseUint(resp.Header.Get("X-Consul-Index"), 10, 64)
	if err != nil || index == 0 {
		a.Shutdown()
		return nil, nil, fmt.Errorf("bad X-Consul-Index %q", resp.Header.Get("X-Consul-Index"))
	}
	stats, err := measureWake(ctx, o, addr, client, index, "blocking-wake")
	a.Shutdown()
	if err != nil {
		return nil, nil, err
	}

	bare, err := startBareParker(resp)
	if err != nil {
		return nil, nil, err
	}
	defer bare.Close()
	bareClient := NewHTTPClient(1)
	defer bareClient.CloseIdleConnections()
	base, err := measureWake(ctx, o, bare.addr, bareClient, 1, "blocking-wake-bare")
	if err != nil {
		return nil, nil, fmt.Errorf("bare baseline: %w", err)
	}

	var results []Result
	for i, st := range stats {
		kind, what := "cold", "first wake of fresh connections"
		if i > 0 {
			kind, what = "steady", "second wake, each re-parked on its keep-alive connection"
		}
		b := base[i]
		results = append(results, Result{
			Name: fmt.Sprintf("blocking-wake n=%d %s", n, kind), Figure: ms(st.Last), Unit: "ms",
			Baseline: ms(b.Last), Ratio: ratio(ms(b.Last), ms(st.Last)),
			Target: "<= 250 ms", Pass: st.Last <= 250*time.Millisecond,
			Note: fmt.Sprintf("%s (ratio: bare time / ours); first %.1fms median %.1fms; PUT answered in %.1fms; "+
				"CPU agent %s client %s; agent page faults %d; parked in %s; bare net/http parker: median %.1fms, CPU %s, page faults %d",
				what, ms(st.First), ms(st.Median), ms(st.PutRTT),
				st.ServerCPU.Round(time.Millisecond), st.ClientCPU.Round(time.Millisecond), st.ServerFaults, st.Park.Round(time.Millisecond),
				ms(b.Median), b.ServerCPU.Round(time.Millisecond), b.ServerFaults),
		})
	}
	return results, stats, nil
}

func ms(d time.Duration) float64 { return float64(d) / 1e6 }

// measureWake runs the two rounds against the server at addr: park the
// watchers on the key at index, PUT, time the answers; then again on the
// re-parked connections. name names the CPU profiles.
func measureWake(ctx context.Context, o Options, addr string, client *http.Client, index uint64, name string) ([]WakeStats, error) {
	n := o.Watchers
	url := "http://" + addr + "/v1/kv/" + BenchKey
	begin := time.Now()
	ch, err := startWatcherChild(ctx, addr, BenchKey, index, n, 2)
	if err != nil {
		return nil, err
	}
	defer ch.stop()
	var stats []WakeStats
	for round := 0; round < 2; round++ {
		if round > 0 {
			// Each watcher asked again with the new index once the round
			// was over; the child says "parked" once it is idle.
			if line, err := ch.readLine(60 * time.Second); err != nil {
				return nil, err
			} else if line != "parked" {
				return nil, fmt.Errorf("watcher child: %s", line)
			}
			begin = time.Now()
		}
		// The child reported every request written and itself idle; once
		// this process is idle too, the server has parsed and parked them
		// all (parked queries cost no CPU).
		if err := waitIdle(ctx, 30*time.Second); err != nil {
			return nil, err
		}
		park := time.Since(begin)

		// The PUT goes over the already open keep-alive connection.
		pname := name
		if round > 0 {
			pname += "-steady"
		}
		stopProfile := o.profile(pname)
		cpu0, flt0 := cpuTime(), minorFaults()
		sent := time.Now()
		if err := httpPut(ctx, client, url, fmt.Sprintf("v%d", round+1)); err != nil {
			stopProfile()
			return nil, err
		}
		putRTT := time.Since(sent)
		childCPU, done, err := ch.results(60 * time.Second)
		serverCPU, faults := cpuTime()-cpu0, minorFaults()-flt0
		stopProfile()
		if err != nil {
			return nil, err
		}
		lat := make([]time.Duration, len(done))
		for i, t := range done {
			lat[i] = time.Duration(t - sent.UnixNano())
			if lat[i] < 0 {
				return nil, fmt.Errorf("watcher %d answered %s before the PUT", i, -lat[i])
			}
		}
		slices.Sort(lat)
		stats = append(stats, WakeStats{Watchers: n, First: lat[0], Median: lat[n/2], Last: lat[n-1], PutRTT: putRTT, Park: park,
			ServerCPU: serverCPU, ClientCPU: childCPU, ServerFaults: faults})
	}
	return stats, nil
}

// bareParker is the blocking-wake baseline: net/http with a handler that
// parks each GET on the current round's channel (or until its client
// goes), and a PUT that closes the channel and starts the next round.
type bareParker struct {
	addr string
	srv  *http.Server
	mu   sync.Mutex
	wake chan struct{}
	idx  uint64
}

func startBareParker(r *Response) (*bareParker, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	replay := r.replayer()
	b := &bareParker{addr: ln.Addr().String(), wake: make(chan struct{}), idx: 1}
	b.srv = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b.mu.Lock()
		wake, idx := b.wake, b.idx
		if req.Method == http.MethodPut {
			close(b.wake)
			b.wake, b.idx = make(chan struct{}), b.idx+1
			b.mu.Unlock()
			_, _ = io.WriteString(w, "true")
			return
		}
		b.mu.Unlock()
		if req.URL.Query().Get("index") == strconv.FormatUint(idx, 10) {
			select {
			case <-wake:
				b.mu.Lock()
				idx = b.idx
				b.mu.Unlock()
			case <-req.Context().Done():
				return
			}
		}
		replay(w, func(h http.Header) { h.Set("X-Consul-Index", strconv.FormatUint(idx, 10)) })
	})}
	go func() { _ = b.srv.Serve(ln) }()
	return b, nil
}

func (b *bareParker) Close() { _ = b.srv.Close() }

// childEnv names the environment variable that turns this executable into
// the watcher child.
const childEnv = "MINCONSUL_BENCHKIT_WATCHERS"

type watcherChild struct {
	cmd    *exec.Cmd
	stdin  io.Closer
	out    *bufio.Reader
	stderr *limitedWriter
	n      int
}

func startWatcherChild(ctx context.Context, addr, key string, index uint64, n, rounds int) (*watcherChild, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%s %s %d %d %d", childEnv, addr, key, index, n, rounds))
	stderr := &limitedWriter{n: 16 << 10}
	cmd.Stderr = stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	c := &watcherChild{cmd: cmd, stdin: stdin, out: bufio.NewReaderSize(stdout, 1<<20), stderr: stderr, n: n}
	line, err := c.readLine(60 * time.Second)
	if err != nil {
		c.stop()
		return nil, err
	}
	if line != "parked" {
		c.stop()
		return nil, fmt.Errorf("watcher child: %s", line)
	}
	return c, nil
}

// readLine reads one line from the child with a timeout.
func (c *watcherChild) readLine(timeout time.Duration) (string, error) {
	type res struct {
		s   string
		err error
	}
	ch := make(chan res, 1)
	go func() {
		s, err := c.out.ReadString('\n')
		ch <- res{strings.TrimSpace(s), err}
	}()
	select {
	case r := <-ch:
		if r.err != nil {
			return "", fmt.Errorf("watcher child: %v\n%s", r.err, c.stderr.String())
		}
		return r.s, nil
	case <-time.After(timeout):
		c.stop()
		<-ch
		return "", fmt.Errorf("watcher child silent for %s\n%s", timeout, c.stderr.String())
	}
}

// results waits for "done <cpu ns> t1 t2 ..." (UnixNano completion times).
func (c *watcherChild) results(timeout time.Duration) (time.Duration, []int64, error) {
	line, err := c.readLine(timeout)
	if err != nil {
		return 0, nil, err
	}
	rest, ok := strings.CutPrefix(line, "done ")
	if !ok {
		return 0, nil, fmt.Errorf("watcher child: %s", line)
	}
	f := strings.Fields(rest)
	if len(f) != c.n+1 {
		return 0, nil, fmt.Errorf("watcher child reported %d of %d answers", len(f)-1, c.n)
	}
	out := make([]int64, len(f))
	for i, s := range f {
		if out[i], err = strconv.ParseInt(s, 10, 64); err != nil {
			return 0, nil, err
		}
	}
	return time.Duration(out[0]), out[1:], nil
}

func (c *watcherChild) stop() {
	c.stdin.Close() // the child exits on EOF
	done := make(chan struct{})
	go func() { _ = c.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		_ = c.cmd.Process.Kill()
		<-done
	}
}

// waitIdle polls the process's CPU time until it uses less than 5% of a
// core over a 100 ms window twice in a row, or the deadline passes.
func waitIdle(ctx context.Context, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	prev := cpuTime()
	quiet := 0
	for quiet < 2 {
		if time.Now().After(deadline) {
			return fmt.Errorf("process did not go idle within %s", timeout)
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		time.Sleep(100 * time.Millisecond) // sampling window, bounded by the deadline
		cur := cpuTime()
		if cur-prev < 5*time.Millisecond {
			quiet++
		} else {
			quiet = 0
		}
		prev = cur
	}
	return nil
}

func minorFaults() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Minflt
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
