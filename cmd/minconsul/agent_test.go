package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/minconsul/minconsul/agent"
	"github.com/minconsul/minconsul/structs"
)

type fakeAgent struct {
	mu        sync.Mutex
	calls     []string
	startErr  error
	leaveGate chan struct{} // when set, Leave blocks until closed
	reloaded  chan struct{}
	leaveCh   chan struct{}
	cfg       *agent.Config
}

func (f *fakeAgent) record(s string) {
	f.mu.Lock()
	f.calls = append(f.calls, s)
	f.mu.Unlock()
}

func (f *fakeAgent) Start(context.Context) error { f.record("start"); return f.startErr }
func (f *fakeAgent) Shutdown() error             { f.record("shutdown"); return nil }
func (f *fakeAgent) Leave(ctx context.Context) error {
	f.record("leave")
	if f.leaveGate != nil {
		<-f.leaveGate
	}
	return nil
}
func (f *fakeAgent) Reload(context.Context) error {
	f.record("reload")
	// The agent calls cfg.Reload on SIGHUP; it must keep working.
	if _, err := f.cfg.Reload(); err != nil {
		return err
	}
	f.reloaded <- struct{}{}
	return nil
}
func (f *fakeAgent) HTTPAddr() string            { return "127.0.0.1:8500" }
func (f *fakeAgent) DNSAddr() string             { return "127.0.0.1:8600" }
func (f *fakeAgent) ShutdownCh() <-chan struct{} { return f.leaveCh }
func (f *fakeAgent) Calls() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return strings.Join(f.calls, ",")
}
func (f *fakeAgent) set(cfg *agent.Config) *fakeAgent { f.cfg = cfg; return f }

// The registrar's methods; these tests never turn it on (no dockerPing).
func (f *fakeAgent) ServiceRegister(context.Context, *structs.ServiceDefinition, bool) error {
	return nil
}
func (f *fakeAgent) ServiceDeregister(context.Context, string) error              { return nil }
func (f *fakeAgent) Services() map[string]*structs.AgentService                   { return nil }
func (f *fakeAgent) CheckUpdateTTL(context.Context, string, string, string) error { return nil }

// startAgentCmd runs "agent args" with a fake agent and a signal channel
// the test drives; it returns the exit code channel.
func startAgentCmd(t *testing.T, fa *fakeAgent, args ...string) (chan<- os.Signal, <-chan int, *bytes.Buffer) {
	t.Helper()
	sigs := make(chan os.Signal, 4)
	var out, errOut bytes.Buffer
	c := newCLI(strings.NewReader(""), &out, &errOut)
	c.agent = agentRunner{
		newAgent: func(cfg *agent.Config, _ hclog.Logger) (runningAgent, error) { return fa.set(cfg), nil },
		signals:  func() (<-chan os.Signal, func()) { return sigs, func() {} },
	}
	done := make(chan int, 1)
	go func() { done <- c.run("consul", append([]string{"agent"}, args...)) }()
	return sigs, done, &out
}

func waitRC(t *testing.T, done <-chan int) int {
	t.Helper()
	select {
	case rc := <-done:
		return rc
	case <-time.After(10 * time.Second):
		t.Fatal("agent command did not exit")
		return -1
	}
}

func newFakeAgent() *fakeAgent {
	return &fakeAgent{reloaded: make(chan struct{}, 1), leaveCh: make(chan struct{})}
}

func TestAgentCmd_Signals(t *testing.T) {
	cases := []struct {
		name  string
		args  []string
		sig   os.Signal
		calls string
	}{
		{"server sigterm", []string{"-dev"}, syscall.SIGTERM, "start,shutdown"},
		{"server sigterm leave", []string{"-dev", "-leave-on-terminate"}, syscall.SIGTERM, "start,leave,shutdown"},
		{"server sigint", []string{"-dev"}, os.Interrupt, "start,shutdown"},
		{"client sigint", []string{"-dev", "-server=false", "-bootstrap=false"}, os.Interrupt, "start,leave,shutdown"},
		{"client sigterm", []string{"-dev", "-server=false", "-bootstrap=false"}, syscall.SIGTERM, "start,leave,shutdown"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fa := newFakeAgent()
			sigs, done, out := startAgentCmd(t, fa, tc.args...)
			sigs <- tc.sig
			if rc := waitRC(t, done); rc != 0 {
				t.Fatalf("rc %d, output:\n%s", rc, out)
			}
			if got := fa.Calls(); got != tc.calls {
				t.Fatalf("calls %s, want %s", got, tc.calls)
			}
		})
	}
}

func TestAgentCmd_ReloadThenStop(t *testing.T) {
	fa := newFakeAgent()
	sigs, done, out := startAgentCmd(t, fa, "-dev")
	sigs <- syscall.SIGHUP
	select {
	case <-fa.reloaded:
	case <-time.After(10 * time.Second):
		t.Fatal("no reload")
	}
	sigs <- syscall.SIGTERM
	if rc := waitRC(t, done); rc != 0 {
		t.Fatalf("rc %d", rc)
	}
	if got := fa.Calls(); got != "start,reload,shutdown" {
		t.Fatalf("calls %s", got)
	}
	if !strings.Contains(out.String(), "==> Consul agent running!") || !strings.Contains(out.String(), "HTTP: 127.0.0.1:8500") {
		t.Fatalf("output:\n%s", out)
	}
}

func TestAgentCmd_SecondSignalExits(t *testing.T) {
	fa := newFakeAgent()
	fa.leaveGate = make(chan struct{})
	defer close(fa.leaveGate)
	sigs, done, _ := startAgentCmd(t, fa, "-dev", "-leave-on-terminate")
	sigs <- syscall.SIGTERM
	sigs <- os.Interrupt
	if rc := waitRC(t, done); rc != 1 {
		t.Fatalf("rc %d", rc)
	}
}

func TestAgentCmd_LeaveViaAPI(t *testing.T) {
	fa := newFakeAgent()
	_, done, _ := startAgentCmd(t, fa, "-dev")
	close(fa.leaveCh)
	if rc := waitRC(t, done); rc != 0 {
		t.Fatalf("rc %d", rc)
	}
	if got := fa.Calls(); got != "start,shutdown" {
		t.Fatalf("calls %s", got)
	}
}

func TestAgentCmd_StartError(t *testing.T) {
	fa := newFakeAgent()
	fa.startErr = errors.New("port in use")
	_, done, _ := startAgentCmd(t, fa, "-dev")
	if rc := waitRC(t, done); rc != 1 {
		t.Fatalf("rc %d", rc)
	}
	if got := fa.Calls(); got != "start,shutdown" {
		t.Fatalf("calls %s", got)
	}
}
