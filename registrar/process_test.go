package registrar_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/minconsul/minconsul/registrar"
	"github.com/minconsul/minconsul/structs"
	"github.com/minconsul/minconsul/testutil"
	"github.com/minconsul/minconsul/testutil/testagent"
)

// TestRegistrator_Standalone: `minconsul registrator` registers through a
// second agent's /v1/agent HTTP API (consul/api), HEALTHCHECK mirroring
// included, and exits 0 on SIGTERM leaving the registrations in place.
func TestRegistrator_Standalone(t *testing.T) {
	t.Parallel()
	s := newScope(t)
	second := testagent.Start(t, testagent.Options{NodeName: "second-" + s.id})
	bin := testutil.Binary(t)
	var out logBuffer
	cmd := exec.Command(bin, "registrator", "-label", s.labelFilter(), "-ip", "127.0.0.1", "-tags", "via-http",
		"-log-level", "debug", "consul://"+second.HTTPAddr())
	cmd.Env = append(os.Environ(), "DOCKER_HOST="+dockerHost())
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			<-exited
		}
		if t.Failed() {
			t.Logf("registrator output:\n%s", out.String())
		}
	})

	_, name := s.create(ctr{name: "standalone", health: true, publish: []string{"127.0.0.1::8080"}})
	host, _ := os.Hostname()
	sid := host + ":" + name + ":8080"
	var svc *structs.AgentService
	testutil.Retry(t, 20*time.Second, func() error {
		svc = second.Services()[sid]
		if svc == nil {
			return fmt.Errorf("%s not registered in the second agent; output:\n%s", sid, out.String())
		}
		return nil
	})
	if svc.Address != "127.0.0.1" || strings.Join(svc.Tags, ",") != "via-http" || svc.Meta[registrar.MetaSource] != "docker" {
		t.Fatalf("registered %+v", svc)
	}
	testutil.Retry(t, 20*time.Second, func() error {
		c := second.Checks()["service:"+sid+":docker-health"]
		if c == nil || c.Status != structs.HealthPassing {
			return fmt.Errorf("health mirror %+v", c)
		}
		return nil
	})
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("registrator exit: %v\n%s", err, out.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatal("registrator did not exit on SIGTERM")
	}
	if second.Services()[sid] == nil {
		t.Fatal("registration removed when the registrator stopped")
	}
}

func dockerHost() string {
	if h := os.Getenv("DOCKER_HOST"); h != "" {
		return h
	}
	return registrar.DefaultDockerHost
}

// TestAgentProcess_Docker: `agent -dev` turns the registrar on by itself
// when an engine answers, says so in its banner, serves the Registrar
// section of /v1/agent/self, and -docker=false turns it off.
func TestAgentProcess_Docker(t *testing.T) {
	t.Parallel()
	s := newScope(t)
	bin := testutil.Binary(t)
	start := func(extra ...string) (*testutil.Proc, *logBuffer) {
		t.Helper()
		var out logBuffer
		args := append([]string{"agent", "-dev", "-node", "proc-" + s.id, "-http-port", "0", "-dns-port", "0",
			"-server-port", "0", "-serf-lan-port", "0", "-docker-label", s.labelFilter()}, extra...)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		p, err := testutil.StartProc(ctx, bin, args, func(l string) { out.Write([]byte(l + "\n")) }, 30*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(p.Kill)
		return p, &out
	}
	self := func(p *testutil.Proc) (st struct {
		Enabled, Connected bool
		Endpoint           string
		Services           int
	}) {
		t.Helper()
		var body struct{ Registrar json.RawMessage }
		resp, err := http.Get("http://" + p.HTTP + "/v1/agent/self")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(body.Registrar, &st); err != nil {
			t.Fatalf("Registrar section %s: %v", body.Registrar, err)
		}
		return st
	}

	on, onLog := start()
	_, name := s.create(ctr{name: "dev", publish: []string{"8080/tcp"}})
	testutil.Retry(t, 20*time.Second, func() error {
		if st := self(on); !st.Enabled || !st.Connected || st.Services != 1 {
			return fmt.Errorf("registrar section %+v", st)
		}
		return nil
	})
	for _, want := range []string{"Docker registrar: ", "on by itself with -dev, -docker=false turns it off",
		"registered: service=proc-" + s.id + ":" + name + ":8080"} {
		if !strings.Contains(onLog.String(), want) {
			t.Errorf("agent output lacks %q:\n%s", want, onLog.String())
		}
	}

	off, offLog := start("-docker=false")
	if st := self(off); st.Enabled {
		t.Errorf("-docker=false: registrar section %+v", st)
	}
	testutil.Retry(t, 10*time.Second, func() error {
		if !strings.Contains(offLog.String(), "Docker registrar: off (-docker=false)") {
			return fmt.Errorf("-docker=false banner:\n%s", offLog.String())
		}
		return nil
	})
}
