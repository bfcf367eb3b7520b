package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"
	"github.com/minconsul/minconsul/testutil"
)

// An event fired with `minconsul event` at one agent of a three-agent
// cluster (a server, two client agents) reaches every agent's event list,
// and a `minconsul watch -type event` handler (a real process reading its
// stdin) on another agent is run with it; an event filtered to a service
// reaches only the agent running that service.
func TestEvents_ClusterAndWatchHandler(t *testing.T) {
	c := testutil.NewCluster(t, testutil.ClusterOptions{Servers: 1, Clients: 2})
	bin := testutil.Binary(t)
	s1, c1, c2 := c.Servers[0], c.Clients[0], c.Clients[1]
	if err := c1.Client().Agent().ServiceRegister(&api.AgentServiceRegistration{Name: "web", Tags: []string{"blue"}}); err != nil {
		t.Fatal(err)
	}

	// The watch runs its handler on each change with the new events on
	// stdin; the handler appends them to a file, one JSON line per run.
	out := filepath.Join(t.TempDir(), "handler.out")
	ctx, cancel := context.WithCancel(context.Background())
	watch := exec.CommandContext(ctx, bin, "watch", "-http-addr", c2.HTTPAddr(), "-type", "event", "-name", "deploy",
		"cat >> "+out)
	var watchErr bytes.Buffer
	watch.Stdout, watch.Stderr = &watchErr, &watchErr
	if err := watch.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		_ = watch.Wait()
		if t.Failed() {
			t.Logf("watch output:\n%s", watchErr.String())
		}
	})
	handlerRuns := func() [][]api.UserEvent {
		b, _ := os.ReadFile(out)
		var runs [][]api.UserEvent
		sc := bufio.NewScanner(bytes.NewReader(b))
		for sc.Scan() {
			var evs []api.UserEvent
			if err := json.Unmarshal(sc.Bytes(), &evs); err == nil {
				runs = append(runs, evs)
			}
		}
		return runs
	}
	// The first run hands over the (empty) current list: the watch is up.
	testutil.Retry(t, 20*time.Second, func() error {
		if len(handlerRuns()) == 0 {
			return errors.New("watch handler not run yet")
		}
		return nil
	})

	res, err := run(t, nil, bin, "event", "-http-addr", s1.HTTPAddr(), "-name", "deploy", "v42")
	if err != nil || !strings.HasPrefix(res, "Event ID: ") {
		t.Fatalf("event: %q %v", res, err)
	}
	id := strings.TrimSpace(strings.TrimPrefix(res, "Event ID: "))
	seen := func(n *testutil.Node, name, id string) error {
		evs, _, err := n.Client().Event().List(name, nil)
		if err != nil {
			return err
		}
		for _, e := range evs {
			if e.ID == id {
				if name == "deploy" && string(e.Payload) != "v42" {
					return fmt.Errorf("%s: payload %q", n.Name, e.Payload)
				}
				return nil
			}
		}
		return fmt.Errorf("%s has not seen event %s", n.Name, id)
	}
	for _, n := range c.Nodes() {
		testutil.Retry(t, 20*time.Second, func() error { return seen(n, "deploy", id) })
	}
	testutil.Retry(t, 20*time.Second, func() error {
		for _, run := range handlerRuns() {
			for _, e := range run {
				if e.ID == id && string(e.Payload) == "v42" {
					return nil
				}
			}
		}
		return fmt.Errorf("handler has not been run with event %s: %+v", id, handlerRuns())
	})

	// Filtered to service web with tag blue: only c1 keeps it. A marker
	// event fired after it shows the others have had their chance.
	filtered, _, err := s1.Client().Event().Fire(&api.UserEvent{Name: "restart", ServiceFilter: "^web$", TagFilter: "blue"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	marker, _, err := s1.Client().Event().Fire(&api.UserEvent{Name: "marker"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	testutil.Retry(t, 20*time.Second, func() error { return seen(c1, "restart", filtered) })
	for _, n := range c.Nodes() {
		testutil.Retry(t, 20*time.Second, func() error { return seen(n, "marker", marker) })
	}
	for _, n := range []*testutil.Node{s1, c2} {
		if err := seen(n, "restart", filtered); err == nil {
			t.Errorf("%s kept an event filtered to a service it does not run", n.Name)
		}
	}
}
