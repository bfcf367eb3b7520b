package httpapi

import (
	"testing"
	"time"

	"github.com/hashicorp/consul/api"
)

func TestHealth_APIClient(t *testing.T) {
	e := newEnv(t)
	registerWeb(t, e, "n1", "10.0.0.1", "web1", []string{"v1"}, map[string]string{"rack": "a"}, "passing")
	registerWeb(t, e, "n2", "10.0.0.2", "web2", nil, map[string]string{"rack": "b"}, "warning")
	h := e.client.Health()

	rows, meta, err := h.Service("web", "", false, nil)
	if err != nil || len(rows) != 2 || meta.LastIndex == 0 {
		t.Fatalf("service: %+v %v", rows, err)
	}
	for _, r := range rows {
		if r.Node == nil || r.Service == nil || r.Service.Tags == nil || len(r.Checks) == 0 {
			t.Fatalf("row %+v", r)
		}
	}
	rows, _, err = h.Service("web", "", true, nil)
	if err != nil || len(rows) != 1 || rows[0].Service.ID != "web1" {
		t.Fatalf("passing: %+v %v", rows, err)
	}
	rows, _, err = h.Service("web", "v1", false, nil)
	if err != nil || len(rows) != 1 {
		t.Fatalf("tag: %+v %v", rows, err)
	}
	rows, _, err = h.Service("web", "", false, &api.QueryOptions{NodeMeta: map[string]string{"rack": "b"}})
	if err != nil || len(rows) != 1 || rows[0].Node.Node != "n2" {
		t.Fatalf("node-meta: %+v %v", rows, err)
	}
	checks, _, err := h.Checks("web", nil)
	if err != nil || len(checks) != 2 {
		t.Fatalf("checks: %+v %v", checks, err)
	}
	checks, _, err = h.Checks("web", &api.QueryOptions{NodeMeta: map[string]string{"rack": "a"}})
	if err != nil || len(checks) != 1 || checks[0].Node != "n1" {
		t.Fatalf("checks by meta: %+v %v", checks, err)
	}
	checks, _, err = h.Node("n2", nil)
	if err != nil || len(checks) != 1 || checks[0].Status != "warning" {
		t.Fatalf("node: %+v %v", checks, err)
	}
	checks, _, err = h.State("warning", nil)
	if err != nil || len(checks) != 1 || checks[0].CheckID != "web-check-web2" {
		t.Fatalf("state: %+v %v", checks, err)
	}
	checks, _, err = h.State("any", nil)
	if err != nil || len(checks) != 2 {
		t.Fatalf("any: %+v %v", checks, err)
	}
}

func TestHealth_Table(t *testing.T) {
	e := newEnv(t)
	registerWeb(t, e, "n1", "10.0.0.1", "web1", nil, nil, "critical")
	e.run(t, []httpCase{
		{name: "bad passing", method: "GET", path: "/v1/health/service/web?passing=maybe", status: 400, want: "Invalid value for ?passing", exact: true},
		{name: "passing=false", method: "GET", path: "/v1/health/service/web?passing=false", status: 200, want: `"ServiceID":"web1"`},
		{name: "passing", method: "GET", path: "/v1/health/service/web?passing", status: 200, want: `[]`, exact: true},
		{name: "unknown service", method: "GET", path: "/v1/health/service/nope", status: 200, want: `[]`, exact: true},
		{name: "no service", method: "GET", path: "/v1/health/service/", status: 400, want: "Missing service name", exact: true},
		{name: "no node", method: "GET", path: "/v1/health/node/", status: 400, want: "Missing node name", exact: true},
		{name: "no state", method: "GET", path: "/v1/health/state/", status: 400, want: "Missing check state", exact: true},
		{name: "unknown node", method: "GET", path: "/v1/health/node/zzz", status: 200, want: `[]`, exact: true},
		{name: "critical", method: "GET", path: "/v1/health/state/critical", status: 200, want: `"ServiceTags":[]`},
		{name: "put", method: "PUT", path: "/v1/health/state/any", status: 405, want: "method PUT not allowed", exact: true},
	})
}

func TestHealth_BlockingWokenByRegister(t *testing.T) {
	e := newEnv(t)
	registerWeb(t, e, "n1", "10.0.0.1", "web1", nil, nil, "passing")
	h := e.client.Health()
	_, meta, err := h.Service("web", "", false, nil)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan int, 1)
	go func() {
		rows, _, err := h.Service("web", "", false, &api.QueryOptions{WaitIndex: meta.LastIndex, WaitTime: time.Minute})
		if err != nil {
			done <- -1
			return
		}
		done <- len(rows)
	}()
	// Register only once the query has parked, so the write must wake it.
	e.waitParked(t, 1)
	registerWeb(t, e, "n2", "10.0.0.2", "web2", nil, nil, "passing")
	select {
	case n := <-done:
		if n != 2 {
			t.Fatalf("woken with %d rows", n)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("not woken")
	}
}
