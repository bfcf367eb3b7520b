package registrar_test

import (
	"context"
	"flag"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"

	"github.com/minconsul/minconsul/registrar"
	"github.com/minconsul/minconsul/testutil"
)

var long = flag.Bool("long", false, "longer churn and fault runs")

// parallel runs f(0..n-1) with at most limit at a time.
func parallel(n, limit int, f func(i int)) {
	sem := make(chan struct{}, limit)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		sem <- struct{}{}
		go func(i int) {
			defer wg.Done()
			defer func() { <-sem }()
			f(i)
		}(i)
	}
	wg.Wait()
}

// churn runs n rounds of starting a container and stopping or removing an
// older one, concurrently; the scope's containers end in a mixed state.
func churn(t testing.TB, s *scope, n int) {
	t.Helper()
	ids := make([]string, n)
	parallel(n, 8, func(i int) {
		ids[i], _ = s.create(ctr{name: fmt.Sprintf("churn%d", i), publish: []string{"8080/tcp"}})
	})
	zero := 0
	parallel(n/2, 8, func(i int) {
		id := ids[i*2]
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		var err error
		if i%2 == 0 {
			err = s.cli.ContainerStop(ctx, id, container.StopOptions{Timeout: &zero})
		} else {
			err = s.cli.ContainerRemove(ctx, id, container.RemoveOptions{Force: true})
		}
		if err != nil {
			t.Errorf("churn: %v", err)
		}
	})
}

// TestRegistrar_EngineAbsentAndRestarted: the registrar starts without an
// engine and picks it up when it appears; while the engine is away
// containers come and go, and after it returns the registrations are
// exactly the running set.
func TestRegistrar_EngineAbsentAndRestarted(t *testing.T) {
	t.Parallel()
	s := newScope(t)
	p := newSockProxy(t, false)
	h := newHarness(t, s, "", func(c *registrar.Config) { c.DockerHost = p.host() })
	_, first := s.create(ctr{name: "first", publish: []string{"8080/tcp"}})
	if st := h.reg.Status(); st.Connected {
		t.Fatalf("connected without an engine: %+v", st)
	}
	testutil.Retry(t, 10*time.Second, func() error {
		if h.reg.Status().LastError == "" {
			return fmt.Errorf("no error reported while the engine is absent")
		}
		return nil
	})
	p.start()
	h.service(h.cfg.Hostname + ":" + first + ":8080")

	p.stop() // the engine "restarts": gone while containers change
	testutil.Retry(t, 10*time.Second, func() error {
		if h.reg.Status().Connected {
			return fmt.Errorf("still connected")
		}
		return nil
	})
	churn(t, s, 6)
	s.create(ctr{name: "while-away", publish: []string{"8080/tcp"}})
	p.start()
	h.converged(30 * time.Second)
	if !h.reg.Status().Connected {
		t.Fatal("not connected after the engine returned")
	}
}

// TestRegistrar_StreamCutDuringChurn: the event stream is cut again and
// again while containers start and stop; the end state is exact.
func TestRegistrar_StreamCutDuringChurn(t *testing.T) {
	t.Parallel()
	s := newScope(t)
	p := newSockProxy(t, true)
	h := newHarness(t, s, "", func(c *registrar.Config) { c.DockerHost = p.host() })
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(150 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				p.cut()
			}
		}
	}()
	rounds := 12
	if *long {
		rounds = 60
	}
	churn(t, s, rounds)
	close(stop)
	<-done
	h.converged(30 * time.Second)
}

// TestRegistrar_AgentRestartDuringChurn: the agent (with a data dir, so
// registrations persist) and its registrar stop, containers change, both
// start again: the catalog ends with exactly the running set.
func TestRegistrar_AgentRestartDuringChurn(t *testing.T) {
	t.Parallel()
	s := newScope(t)
	dir := t.TempDir()
	h := newHarness(t, s, dir, nil)
	churn(t, s, 8)
	h.converged(30 * time.Second)
	before := h.ours()
	h.restartAgent(dir, func() { churn(t, s, 8) })
	h.converged(30 * time.Second)
	// The survivors' registrations came back from disk and were not
	// rewritten: same services, nothing flapped.
	for id := range h.ours() {
		if before[id] != nil && h.logsAfterRestartMention(id) {
			t.Errorf("%s was registered again after the restart although it never changed", id)
		}
	}
}

// logsAfterRestartMention reports whether the registrar logged a
// registration of id after the (latest) registrar start.
func (h *harness) logsAfterRestartMention(id string) bool {
	all := h.logs.String()
	i := strings.LastIndex(all, "registrar starting")
	return i >= 0 && strings.Contains(all[i:], "registered: service="+id+" ")
}

// TestRegistrar_Churn50: 50 containers started concurrently, then half of
// them stopped or removed concurrently; registrations follow exactly.
func TestRegistrar_Churn50(t *testing.T) {
	t.Parallel()
	s := newScope(t)
	h := newHarness(t, s, "", nil)
	n := 50
	if *long {
		n = 150
	}
	churn(t, s, n)
	h.converged(60 * time.Second)
	testutil.Retry(t, 5*time.Second, func() error {
		if st := h.reg.Status(); st.Services != len(s.running()) {
			return fmt.Errorf("status counts %d services, %d containers run, agent has %d", st.Services, len(s.running()), len(h.ours()))
		}
		return nil
	})
}
