package agent_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"
	"github.com/minconsul/minconsul/structs"
	"github.com/minconsul/minconsul/testutil/testagent"
)

// A lone -dev agent fires events to itself: fire answers the event with its
// ID, list shows it (with ?name), a blocking list waits for the next one
// and its index is the last event's ID as consul/api computes it; bad
// filters answer Consul's messages and fire nothing.
func TestEvents_FireListBlocking(t *testing.T) {
	a := testagent.Start(t, testagent.Options{NodeName: "ev1"})
	c := a.Client(t)
	if err := c.Agent().ServiceRegister(&api.AgentServiceRegistration{Name: "web", Tags: []string{"v1"}}); err != nil {
		t.Fatal(err)
	}

	events, meta, err := c.Event().List("", nil)
	if err != nil || len(events) != 0 || meta.LastIndex != 1 {
		t.Fatalf("empty list: %v %+v %v", events, meta, err)
	}
	id, _, err := c.Event().Fire(&api.UserEvent{Name: "deploy", Payload: []byte("v2"), ServiceFilter: "web", TagFilter: "v1"}, nil)
	if err != nil || id == "" {
		t.Fatalf("fire: %q %v", id, err)
	}
	events, meta, err = c.Event().List("deploy", nil)
	if err != nil || len(events) != 1 || events[0].ID != id || string(events[0].Payload) != "v2" ||
		events[0].ServiceFilter != "web" || events[0].Version != 1 || events[0].LTime == 0 {
		t.Fatalf("list: %+v %v", events, err)
	}
	if meta.LastIndex != c.Event().IDToIndex(id) {
		t.Fatalf("index %d, want %d", meta.LastIndex, c.Event().IDToIndex(id))
	}
	// Filters that do not match this agent: fired, never listed.
	for _, e := range []*api.UserEvent{{Name: "other", NodeFilter: "^nope$"}, {Name: "other", ServiceFilter: "db"},
		{Name: "other", ServiceFilter: "web", TagFilter: "v9"}} {
		if _, _, err := c.Event().Fire(e, nil); err != nil {
			t.Fatal(err)
		}
	}
	if events, _, _ := c.Event().List("other", nil); len(events) != 0 {
		t.Fatalf("filtered events listed: %+v", events)
	}

	// A blocking list on the current index wakes with the next event.
	got := make(chan []*api.UserEvent, 1)
	go func() {
		evs, _, err := c.Event().List("deploy", &api.QueryOptions{WaitIndex: meta.LastIndex, WaitTime: 30 * time.Second})
		if err != nil {
			t.Error(err)
		}
		got <- evs
	}()
	id2, _, err := c.Event().Fire(&api.UserEvent{Name: "deploy"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	select {
	case evs := <-got:
		if len(evs) == 0 || evs[len(evs)-1].ID != id2 {
			// The blocking list may have run after the fire: it still
			// ends with the new event.
			t.Fatalf("blocking list: %+v", evs)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("blocking list did not wake")
	}
	// With ?wait and nothing new it answers after the wait, same index.
	start := time.Now()
	_, meta2, err := c.Event().List("deploy", &api.QueryOptions{WaitIndex: c.Event().IDToIndex(id2), WaitTime: 200 * time.Millisecond})
	if err != nil || meta2.LastIndex != c.Event().IDToIndex(id2) || time.Since(start) < 200*time.Millisecond {
		t.Fatalf("timed out list: %+v %v after %v", meta2, err, time.Since(start))
	}

	base := "http://" + a.HTTPAddr()
	for _, tc := range []struct {
		path   string
		status int
		body   string
	}{
		{"/v1/event/fire/", 400, "Missing name"},
		{"/v1/event/fire/x?tag=a", 500, "Cannot provide tag filter without service filter"},
		{"/v1/event/fire/x?node=(", 500, "Invalid node filter: error parsing regexp: missing closing ): `(`"},
		{"/v1/event/fire/x?dc=dc9", 500, "No path to datacenter"},
	} {
		req, _ := http.NewRequestWithContext(context.Background(), http.MethodPut, base+tc.path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.status || strings.TrimSpace(string(b)) != tc.body {
			t.Errorf("%s: %d %q, want %d %q", tc.path, resp.StatusCode, b, tc.status, tc.body)
		}
	}
	if events, _, _ := c.Event().List("x", nil); len(events) != 0 {
		t.Fatalf("refused events were fired: %+v", events)
	}
}

// The ring keeps the 256 most recent events, oldest first.
func TestEvents_RingKeeps256(t *testing.T) {
	a := testagent.Start(t, testagent.Options{NodeName: "ev2"})
	for i := range 300 {
		if _, err := a.FireEvent(context.Background(), &structs.UserEvent{Name: fmt.Sprintf("e%d", i)}); err != nil {
			t.Fatal(err)
		}
	}
	events, _ := a.UserEvents()
	if len(events) != 256 || events[0].Name != "e44" || events[255].Name != "e299" {
		t.Fatalf("ring: %d events, first %s last %s", len(events), events[0].Name, events[len(events)-1].Name)
	}
}

func TestEventIndex(t *testing.T) {
	c, _ := api.NewClient(api.DefaultConfig())
	for _, id := range []string{"b54fe110-7af5-cafc-d1fb-afc8ba432b1c", "00000000-0000-0000-0000-000000000001"} {
		if got, want := structs.EventIndex(id), c.Event().IDToIndex(id); got != want {
			t.Errorf("%s: %d, want %d", id, got, want)
		}
	}
	if structs.EventIndex("short") != 0 || structs.EventIndex("zzzzzzzz-7af5-cafc-d1fb-afc8ba432b1c") != 0 {
		t.Error("malformed IDs must give 0")
	}
}
