package benchkit

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// BuildBinary builds cmd/minconsul into dir with the flags testutil.Binary
// uses (so the build cache is shared) and returns its path.
func BuildBinary(ctx context.Context, dir string) (string, error) {
	out := filepath.Join(dir, "minconsul")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", out, "./cmd/minconsul")
	cmd.Dir = RepoRoot()
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/minconsul: %v\n%s", err, b)
	}
	return out, nil
}

// RepoRoot is the module root, found from this file's location.
func RepoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Dir(filepath.Dir(filepath.Dir(file)))
}

// DevProcess is a `minconsul agent -dev` child process.
type DevProcess struct {
	Cmd     *exec.Cmd
	HTTP    string // host:port
	Started time.Time
	Leader  time.Duration // process start -> first non-empty /v1/status/leader
}

// StartDevProcess runs `bin agent -dev` on free loopback ports and waits
// for /v1/status/leader to name a leader.
func StartDevProcess(ctx context.Context, bin string) (*DevProcess, error) {
	httpPort, err := freePort("tcp")
	if err != nil {
		return nil, err
	}
	dnsPort, err := freeDNSPort()
	if err != nil {
		return nil, err
	}
	serverPort, err := freePort("tcp")
	if err != nil {
		return nil, err
	}
	p := &DevProcess{HTTP: fmt.Sprintf("127.0.0.1:%d", httpPort)}
	// -docker=false: -dev would otherwise register the host's containers.
	p.Cmd = exec.Command(bin, "agent", "-dev", "-docker=false", "-node", "bench",
		"-client", "127.0.0.1", "-bind", "127.0.0.1",
		"-http-port", strconv.Itoa(httpPort), "-dns-port", strconv.Itoa(dnsPort),
		"-server-port", strconv.Itoa(serverPort))
	stderr := &limitedWriter{n: 64 << 10}
	p.Cmd.Stderr = stderr
	p.Started = time.Now()
	if err := p.Cmd.Start(); err != nil {
		return nil, err
	}
	exited := make(chan error, 1)
	go func() { exited <- p.Cmd.Wait() }()
	client := &http.Client{Timeout: time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	url := "http://" + p.HTTP + "/v1/status/leader"
	deadline := p.Started.Add(20 * time.Second)
	for {
		if leader, err := getString(ctx, client, url); err == nil && leader != `""` && leader != "" {
			p.Leader = time.Since(p.Started)
			// Keep reaping the process in the background.
			go func() { <-exited }()
			return p, nil
		}
		select {
		case err := <-exited:
			return nil, fmt.Errorf("minconsul exited before electing a leader: %v\n%s", err, stderr.String())
		default:
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			p.Stop()
			return nil, fmt.Errorf("no leader on %s within 20s\n%s", url, stderr.String())
		}
		time.Sleep(time.Millisecond) // poll interval, bounded by the deadline
	}
}

// Stop kills the process.
func (p *DevProcess) Stop() {
	if p.Cmd.Process != nil {
		_ = p.Cmd.Process.Kill()
	}
}

// RSS reads VmRSS of the process in bytes.
func (p *DevProcess) RSS() (uint64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", p.Cmd.Process.Pid))
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
		if bin, err = BuildBinary(ctx, dir); err != nil {
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

// freeDNSPort finds a port free for both UDP and TCP.
func freeDNSPort() (int, error) {
	for i := 0; i < 20; i++ {
		p, err := freePort("udp")
		if err != nil {
			return 0, err
		}
		ln, err := netListenTCP(p)
		if err == nil {
			ln.Close()
			return p, nil
		}
	}
	return 0, errors.New("no port free for both UDP and TCP")
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
