// Package agentproc runs the minconsul binary as a real process and learns
// where it listens from its `agent started:` log line, so callers can pass
// port 0 everywhere. Tests (testutil, e2e) and the benchmark harness share
// it; it knows nothing about clusters or assertions.
package agentproc

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"os/exec"
	"regexp"
	"strconv"
	"sync"
	"syscall"
	"time"
)

var startedRE = regexp.MustCompile(`agent started: .*http=(\S+) dns=(\S+) server_port=(\d+) serf_lan=(\S*)`)

// Addrs is where an agent listens, as it logged it.
type Addrs struct {
	HTTP, DNS, Serf string // host:port (Serf is "" for a lone -dev agent)
	ServerPort      int
}

// PortFlags gives the flags that bind the same ports again (a restart
// keeps its Raft and gossip addresses); the zero Addrs gives port 0 for all.
func (a Addrs) PortFlags() []string {
	port := func(hostport string) string {
		if _, p, err := net.SplitHostPort(hostport); err == nil {
			return p
		}
		return "0"
	}
	return []string{"-http-port", port(a.HTTP), "-dns-port", port(a.DNS),
		"-serf-lan-port", port(a.Serf), "-server-port", strconv.Itoa(a.ServerPort)}
}

// Proc is one running (or exited) agent process.
type Proc struct {
	Addrs
	cmd     *exec.Cmd
	exited  chan struct{}
	mu      sync.Mutex
	exitErr error
}

// Start runs bin with args, hands every output line to logLine, and waits
// (at most wait) until the agent logs its addresses. If it exits or the
// wait ends first, Start kills it and returns an error.
func Start(ctx context.Context, bin string, args []string, logLine func(string), wait time.Duration) (*Proc, error) {
	p := &Proc{cmd: exec.Command(bin, args...), exited: make(chan struct{})}
	pr, pw := io.Pipe()
	p.cmd.Stdout, p.cmd.Stderr = pw, pw
	found := make(chan Addrs, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		seen := false
		for sc.Scan() {
			line := sc.Text()
			logLine(line)
			if m := startedRE.FindStringSubmatch(line); m != nil && !seen {
				seen = true
				port, _ := strconv.Atoi(m[3])
				serf := m[4]
				if serf == `""` {
					serf = ""
				}
				found <- Addrs{HTTP: m[1], DNS: m[2], ServerPort: port, Serf: serf}
			}
		}
		_, _ = io.Copy(io.Discard, pr)
	}()
	if err := p.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	go func() {
		err := p.cmd.Wait()
		p.mu.Lock()
		p.exitErr = err
		p.mu.Unlock()
		pw.Close()
		close(p.exited)
	}()
	timer := time.NewTimer(wait)
	defer timer.Stop()
	select {
	case a := <-found:
		p.Addrs = a
		return p, nil
	case <-p.exited:
		return nil, fmt.Errorf("agent exited early: %v", p.Err())
	case <-ctx.Done():
		p.Kill()
		return nil, ctx.Err()
	case <-timer.C:
		p.Kill()
		return nil, fmt.Errorf("agent did not log its addresses within %s", wait)
	}
}

// Exited is closed when the process has exited.
func (p *Proc) Exited() <-chan struct{} { return p.exited }

// Err is the process's exit error (nil while it runs or after a clean exit).
func (p *Proc) Err() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.exitErr
}

// Alive reports a process that has not exited (a SIGSTOPped one counts).
func (p *Proc) Alive() bool {
	select {
	case <-p.exited:
		return false
	default:
		return true
	}
}

// Pid is the process ID (for /proc measurements).
func (p *Proc) Pid() int { return p.cmd.Process.Pid }

// Signal sends sig.
func (p *Proc) Signal(sig syscall.Signal) error { return p.cmd.Process.Signal(sig) }

// Kill SIGKILLs the process and waits until it is gone.
func (p *Proc) Kill() {
	if p.Alive() {
		_ = p.cmd.Process.Kill()
	}
	<-p.exited
}

// WaitExit waits up to d for the process to exit.
func (p *Proc) WaitExit(d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-p.exited:
		return p.Err()
	case <-t.C:
		return fmt.Errorf("still running after %s", d)
	}
}
