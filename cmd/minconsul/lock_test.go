package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/minconsul/minconsul/testutil"
	"github.com/minconsul/minconsul/testutil/testagent"
)

// `minconsul lock` as real processes against a real agent: concurrent
// holders never overlap, and SIGTERM reaches the child and frees the lock.
func TestLockCmd_RealChildProcesses(t *testing.T) {
	bin := testutil.Binary(t)
	a := testagent.Start(t, testagent.Options{})
	c := a.Client(t)
	ha := "-http-addr=" + a.HTTPAddr()
	dir := t.TempDir()
	log := filepath.Join(dir, "log")
	// The agent's node and serfHealth must be in the catalog for a session.
	testutil.Retry(t, 20*time.Second, func() error {
		id, _, err := c.Session().Create(nil, nil)
		if err == nil {
			_, err = c.Session().Destroy(id, nil)
		}
		return err
	})

	var wg sync.WaitGroup
	for i := 0; i < 3; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			cmd := exec.Command(bin, "lock", ha, "app/serial",
				fmt.Sprintf("echo start%d >> %s; sleep 0.3; echo end%d >> %s", i, log, i, log))
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Errorf("lock %d: %v: %s", i, err, out)
			}
		}(i)
	}
	wg.Wait()
	b, _ := os.ReadFile(log)
	lines := strings.Fields(string(b))
	if len(lines) != 6 {
		t.Fatalf("log = %q", lines)
	}
	for j := 0; j < 6; j += 2 {
		if strings.TrimPrefix(lines[j], "start") != strings.TrimPrefix(lines[j+1], "end") {
			t.Fatalf("holders overlapped: %q", lines)
		}
	}

	// A semaphore of 2 across 4 processes: never more than 2 children at once.
	semLog := filepath.Join(dir, "sem")
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			out, err := exec.Command(bin, "lock", ha, "-n", "2", "app/slots",
				fmt.Sprintf("echo +%d >> %s; sleep 0.4; echo -%d >> %s", i, semLog, i, semLog)).CombinedOutput()
			if err != nil {
				t.Errorf("semaphore %d: %v: %s", i, err, out)
			}
		}(i)
	}
	wg.Wait()
	b, _ = os.ReadFile(semLog)
	in, most := 0, 0
	for _, l := range strings.Fields(string(b)) {
		if strings.HasPrefix(l, "+") {
			in++
		} else {
			in--
		}
		most = max(most, in)
	}
	if most > 2 || len(strings.Fields(string(b))) != 8 {
		t.Fatalf("semaphore log %q: %d holders at once", b, most)
	}

	// kv put -acquire/-release with a session of our own.
	sid, _, err := c.Session().Create(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, step := range []struct {
		args []string
		want string
	}{
		{[]string{"kv", "put", ha, "-acquire", "-session=" + sid, "app/manual", "mine"}, "Success! Lock acquired on: app/manual"},
		{[]string{"kv", "put", ha, "-release", "-session=" + sid, "app/manual", "free"}, "Success! Lock released on: app/manual"},
	} {
		out, err := exec.Command(bin, step.args...).CombinedOutput()
		if err != nil || !strings.Contains(string(out), step.want) {
			t.Fatalf("%v: %v %s", step.args, err, out)
		}
	}
	if p, _, _ := c.KV().Get("app/manual", nil); p == nil || p.LockIndex != 1 || p.Session != "" || string(p.Value) != "free" {
		t.Fatalf("app/manual = %+v", p)
	}

	// A semaphore of 2: exit codes pass through with -child-exit-code.
	if err := exec.Command(bin, "lock", ha, "-n", "2", "-child-exit-code", "app/sem", "exit 3").Run(); err == nil {
		t.Fatal("child failure not reported")
	} else if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 2 {
		t.Fatalf("exit = %v, want 2", err)
	}

	sigLog := filepath.Join(dir, "sig")
	cmd := exec.Command(bin, "lock", ha, "app/sig",
		fmt.Sprintf(`trap "echo got-term >> %s; exit 0" TERM; echo ready >> %s; while true; do sleep 0.05; done`, sigLog, sigLog))
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	testutil.Retry(t, 15*time.Second, func() error {
		b, _ := os.ReadFile(sigLog)
		if !strings.Contains(string(b), "ready") {
			return fmt.Errorf("child not running yet")
		}
		return nil
	})
	p, _, err := c.KV().Get("app/sig/.lock", nil)
	if err != nil || p == nil || p.Session == "" {
		t.Fatalf("lock not held while the child runs: %+v %v", p, err)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("lock exit after SIGTERM: %v", err)
		}
	case <-time.After(15 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatal("lock did not exit after SIGTERM")
	}
	if b, _ := os.ReadFile(sigLog); !strings.Contains(string(b), "got-term") {
		t.Fatalf("child never saw SIGTERM: %q", b)
	}
	if p, _, _ := c.KV().Get("app/sig/.lock", nil); p != nil && p.Session != "" {
		t.Fatalf("lock still held after exit: %+v", p)
	}
}

// A holder SIGKILLed (no release, no destroy) loses its lock when its
// session's TTL runs out on the leader (2x the api's 15 s TTL); then, past
// the lock delay, another `minconsul lock` gets it.
func TestLockCmd_KilledHolderReleasedAfterTTL(t *testing.T) {
	t.Parallel()
	bin := testutil.Binary(t)
	a := testagent.Start(t, testagent.Options{NodeName: "killnode"})
	c := a.Client(t)
	ha := "-http-addr=" + a.HTTPAddr()
	dir := t.TempDir()
	ready, childPid := filepath.Join(dir, "ready"), filepath.Join(dir, "pid")
	testutil.Retry(t, 20*time.Second, func() error {
		id, _, err := c.Session().Create(nil, nil)
		if err == nil {
			_, err = c.Session().Destroy(id, nil)
		}
		return err
	})
	cmd := exec.Command(bin, "lock", ha, "app/kill",
		fmt.Sprintf("echo $$ > %s; echo ready > %s; exec sleep 300", childPid, ready))
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	testutil.Retry(t, 15*time.Second, func() error {
		if _, err := os.Stat(ready); err != nil {
			return err
		}
		return nil
	})
	// The child runs in its own process group: kill it too when done.
	t.Cleanup(func() {
		if b, err := os.ReadFile(childPid); err == nil {
			var pid int
			if _, err := fmt.Sscan(string(b), &pid); err == nil && pid > 0 {
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
		}
	})
	p, _, _ := c.KV().Get("app/kill/.lock", nil)
	if p == nil || p.Session == "" {
		t.Fatalf("lock not held: %+v", p)
	}
	holder := p.Session
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
	testutil.Retry(t, 45*time.Second, func() error {
		p, _, err := c.KV().Get("app/kill/.lock", nil)
		if err != nil {
			return err
		}
		if p != nil && p.Session != "" {
			return fmt.Errorf("still held by %s", p.Session)
		}
		return nil
	})
	if s, _, _ := c.Session().Info(holder, nil); s != nil {
		t.Fatalf("killed holder's session still alive: %+v", s)
	}
	out, err := exec.Command(bin, "lock", ha, "app/kill", "echo second holder").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "second holder") {
		t.Fatalf("next holder: %v %s", err, out)
	}
}
