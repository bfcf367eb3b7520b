package httpapi

import (
	"encoding/json"
	"strconv"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"
)

func TestUIServices_Summary(t *testing.T) {
	e := newEnv(t)
	registerWeb(t, e, "n1", "10.0.0.1", "web1", []string{"a"}, nil, "passing")
	registerWeb(t, e, "n2", "10.0.0.2", "web2", []string{"b"}, nil, "critical")
	// A node check counts once for the service, with a Docker instance.
	_, err := e.client.Catalog().Register(&api.CatalogRegistration{Node: "n1", Address: "10.0.0.1",
		Service: &api.AgentService{ID: "web3", Service: "web", Meta: map[string]string{"external-source": "docker", "docker-image": "nginx"}},
		Check:   &api.AgentCheck{Node: "n1", CheckID: "serfHealth", Name: "serf", Status: "warning"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	e.run(t, []httpCase{
		{name: "POST", method: "POST", path: "/v1/internal/ui/services", status: 405},
		{name: "other dc", method: "GET", path: "/v1/internal/ui/services?dc=dc9", status: 500, want: "No path to datacenter"},
		{name: "nodes", method: "GET", path: "/v1/internal/ui/nodes", status: 200, want: `"Node":"n2","Address":"10.0.0.2","Datacenter":"dc1"`},
		{name: "node", method: "GET", path: "/v1/internal/ui/node/n2", status: 200, want: `"CheckID":"web-check-web2"`},
		{name: "unknown node", method: "GET", path: "/v1/internal/ui/node/nope", status: 404},
		{name: "no node name", method: "GET", path: "/v1/internal/ui/node/", status: 400, want: "Missing node name"},
	})
	status, h, body := e.do("GET", "/v1/internal/ui/services", "")
	if status != 200 || h.Get("X-Consul-Index") == "" {
		t.Fatalf("%d %v", status, h)
	}
	var got []uiService
	if err := json.Unmarshal([]byte(body), &got); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 {
		t.Fatalf("services %s", body)
	}
	w := got[0]
	if w.Name != "web" || w.InstanceCount != 3 || w.ChecksPassing != 1 || w.ChecksWarning != 1 || w.ChecksCritical != 1 ||
		len(w.Tags) != 2 || len(w.Nodes) != 2 || len(w.ExternalSources) != 1 || w.ExternalSources[0] != "docker" ||
		len(w.Instances) != 3 || w.Datacenter != "dc1" {
		t.Fatalf("summary %+v", w)
	}
	var docker *uiInstance
	for i := range w.Instances {
		if w.Instances[i].ID == "web3" {
			docker = &w.Instances[i]
		}
	}
	if docker == nil || docker.Node != "n1" || docker.Meta["docker-image"] != "nginx" {
		t.Fatalf("instances %+v", w.Instances)
	}
	var nodes []uiNode
	_, _, body = e.do("GET", "/v1/internal/ui/nodes", "")
	if err := json.Unmarshal([]byte(body), &nodes); err != nil {
		t.Fatal(err)
	}
	if len(nodes) != 2 || nodes[0].Node.Node != "n1" || len(nodes[0].Services) != 2 || len(nodes[0].Checks) != 2 || len(nodes[1].Checks) != 1 {
		t.Fatalf("nodes %s", body)
	}
}

// One blocking query serves a whole list page: a check changing on any node
// wakes it.
func TestUIServices_BlockingWokenByCheck(t *testing.T) {
	e := newEnv(t)
	registerWeb(t, e, "n1", "10.0.0.1", "web1", nil, nil, "passing")
	_, h, _ := e.do("GET", "/v1/internal/ui/services", "")
	idx, err := strconv.ParseUint(h.Get("X-Consul-Index"), 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan string, 1)
	go func() {
		_, _, body := e.do("GET", "/v1/internal/ui/services?wait=1m&index="+strconv.FormatUint(idx, 10), "")
		done <- body
	}()
	e.waitParked(t, 1)
	registerWeb(t, e, "n1", "10.0.0.1", "web1", nil, nil, "critical")
	select {
	case body := <-done:
		var got []uiService
		if err := json.Unmarshal([]byte(body), &got); err != nil || len(got) != 1 || got[0].ChecksCritical != 1 {
			t.Fatalf("woken with %s (%v)", body, err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("not woken")
	}
}
