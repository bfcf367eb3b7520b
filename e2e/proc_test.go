package e2e

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"
	"github.com/minconsul/minconsul/testutil"
)

// proc is a minconsul binary running as a real process.
type proc struct {
	*testutil.Proc
	t   *testing.T
	mu  sync.Mutex
	log bytes.Buffer
}

// startProc runs bin with args and waits until it logs where it listens
// (ports are 0 everywhere, so the log is the only place to learn them).
func startProc(t *testing.T, bin string, args ...string) *proc {
	t.Helper()
	p := &proc{t: t}
	ap, err := testutil.StartProc(context.Background(), bin, args, func(line string) {
		p.mu.Lock()
		p.log.WriteString(line + "\n")
		p.mu.Unlock()
	}, 20*time.Second)
	if err != nil {
		t.Fatalf("start %v: %v\n%s", args, err, p.logs())
	}
	p.Proc = ap
	t.Cleanup(func() {
		p.Kill()
		if t.Failed() {
			t.Logf("process log (%v):\n%s", args, p.logs())
		}
	})
	return p
}

func (p *proc) logs() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.log.String()
}

func (p *proc) client() *api.Client {
	c, err := api.NewClient(&api.Config{Address: p.HTTP})
	if err != nil {
		p.t.Fatal(err)
	}
	return c
}

// waitLeader waits until the agent has a leader and knows its own node.
func (p *proc) waitLeader(node string) {
	c := p.client()
	testutil.Retry(p.t, 15*time.Second, func() error {
		l, err := c.Status().Leader()
		if err != nil || l == "" {
			return fmt.Errorf("no leader yet: %v", err)
		}
		n, _, err := c.Catalog().Node(node, nil)
		if err != nil || n == nil {
			return fmt.Errorf("node %s not in catalog yet: %v", node, err)
		}
		return nil
	})
}

// signal sends sig and waits up to d for the process to exit.
func (p *proc) signal(sig syscall.Signal, d time.Duration) error {
	if err := p.Signal(sig); err != nil {
		return err
	}
	return p.WaitExit(d)
}

// run runs a CLI command to completion and returns its output.
func run(t *testing.T, env []string, bin string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// consulBin links the binary under the name "consul".
func consulBin(t *testing.T) string {
	dir := t.TempDir()
	link := filepath.Join(dir, "consul")
	if err := os.Symlink(testutil.Binary(t), link); err != nil {
		t.Fatal(err)
	}
	return link
}

func lines(s string) []string { return strings.Split(strings.TrimSpace(s), "\n") }
