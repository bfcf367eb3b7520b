package main

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/minconsul/minconsul/testutil"

	"github.com/minconsul/minconsul/testutil/testagent"
)

// `info` prints the agent's Stats sections in Consul's layout.
func TestInfo_Sections(t *testing.T) {
	a := testagent.Start(t, testagent.Options{NodeName: "info1"})
	rc, out, errOut := runCLI(t, "", "info", "-http-addr="+a.HTTPAddr())
	if rc != 0 {
		t.Fatalf("info: %d %q", rc, errOut)
	}
	for _, want := range []string{"agent:\n\tcheck_monitors = 0\n", "build:\n", "consul:\n\tacl = disabled\n",
		"raft:\n", "\tstate = Leader\n", "runtime:\n", "serf_lan:\n", "\tmembers = 1\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("info lacks %q:\n%s", want, out)
		}
	}
	if i, j := strings.Index(out, "agent:"), strings.Index(out, "serf_lan:"); i != 0 || j < i {
		t.Errorf("sections not sorted:\n%s", out)
	}
}

func TestCatalogDatacenters(t *testing.T) {
	a := testagent.Start(t, testagent.Options{NodeName: "dc1node"})
	rc, out, errOut := runCLI(t, "", "catalog", "datacenters", "-http-addr="+a.HTTPAddr())
	if rc != 0 || out != "dc1\n" {
		t.Fatalf("catalog datacenters: %d %q %q", rc, out, errOut)
	}
	if rc, _, errOut := runCLI(t, "", "catalog", "datacenters", "-http-addr="+a.HTTPAddr(), "x"); rc != 1 || errOut != "Too many arguments (expected 0, got 1)\n" {
		t.Fatalf("extra arg: %d %q", rc, errOut)
	}
}

// `monitor` (the built binary) streams the agent's log line a request
// causes until it is interrupted.
func TestMonitor_CLI(t *testing.T) {
	a := testagent.Start(t, testagent.Options{NodeName: "moncli"})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, testutil.Binary(t), "monitor", "-http-addr", a.HTTPAddr(), "-log-level", "debug")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	lines := make(chan string, 100)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	c := a.Client(t)
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatal("monitor ended")
			}
			if strings.Contains(l, "/v1/kv/monitor-cli-probe") && strings.Contains(l, "[DEBUG]") {
				if err := cmd.Process.Signal(os.Interrupt); err != nil {
					t.Fatal(err)
				}
				if err := cmd.Wait(); err != nil {
					t.Fatalf("monitor exit after SIGINT: %v", err)
				}
				return
			}
		case <-tick.C:
			_, _, _ = c.KV().Get("monitor-cli-probe", nil)
		case <-ctx.Done():
			t.Fatal("no log line from monitor")
		}
	}
}
