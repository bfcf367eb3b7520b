package ui_test

import (
	"crypto/sha256"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/hashicorp/consul/api"
)

// seedDemo registers what the screenshots show: a few services on a few
// nodes, Docker-registered ones among them, checks in every state, and KV.
func seedDemo(t testing.TB, c *api.Client) {
	t.Helper()
	type svc struct {
		node, name, id, image, status string
		port                          int
		tags                          []string
	}
	nodes := map[string]string{"docker-host-1": "10.0.1.11", "docker-host-2": "10.0.1.12", "db-1": "10.0.2.21"}
	svcs := []svc{
		{"docker-host-1", "web", "docker-host-1:web_1:80", "nginx:1.27", "passing", 32768, []string{"http", "public"}},
		{"docker-host-2", "web", "docker-host-2:web_2:80", "nginx:1.27", "passing", 32771, []string{"http", "public"}},
		{"docker-host-1", "api", "docker-host-1:api_1:8080", "ghcr.io/acme/api:2.4.1", "passing", 32769, []string{"v2", "grpc"}},
		{"docker-host-2", "api", "docker-host-2:api_2:8080", "ghcr.io/acme/api:2.4.1", "warning", 32772, []string{"v2", "grpc"}},
		{"docker-host-2", "worker", "docker-host-2:worker_1:9000", "acme/worker:latest", "critical", 32773, []string{"queue"}},
		{"db-1", "postgres", "postgres-primary", "", "passing", 5432, []string{"primary", "v16"}},
		{"db-1", "redis", "redis-cache", "", "passing", 6379, []string{"cache"}},
	}
	// Sorted, so that every run registers in the same order and the
	// screenshots' indexes do not change from run to run.
	for _, name := range slices.Sorted(maps.Keys(nodes)) {
		addr := nodes[name]
		_, err := c.Catalog().Register(&api.CatalogRegistration{Node: name, Address: addr, NodeMeta: map[string]string{"rack": "r" + addr[len(addr)-1:]},
			Check: &api.AgentCheck{Node: name, CheckID: "serfHealth", Name: "Serf Health Status", Status: "passing", Output: "Agent alive and reachable"}}, nil)
		must(t, err)
	}
	for _, s := range svcs {
		meta := map[string]string{"version": "2024.11"}
		if s.image != "" {
			meta = map[string]string{"external-source": "docker", "docker-image": s.image,
				"docker-container-name": strings.Split(s.id, ":")[1],
				"docker-container-id":   fmt.Sprintf("%x", sha256.Sum256([]byte(s.id)))}
		}
		reg := &api.CatalogRegistration{Node: s.node, Address: nodes[s.node], SkipNodeUpdate: true,
			Service: &api.AgentService{ID: s.id, Service: s.name, Port: s.port, Tags: s.tags, Meta: meta},
			Check: &api.AgentCheck{Node: s.node, CheckID: "service:" + s.id, Name: s.name + " HTTP", ServiceID: s.id, Status: s.status,
				Output: map[string]string{"passing": "HTTP GET http://" + nodes[s.node] + ":" + fmt.Sprint(s.port) + "/health: 200 OK Output: ok",
					"warning": "HTTP GET /health: 429 Too Many Requests", "critical": "dial tcp " + nodes[s.node] + ":" + fmt.Sprint(s.port) + ": connect: connection refused"}[s.status]}}
		_, err := c.Catalog().Register(reg, nil)
		must(t, err)
	}
	kv := map[string]string{
		"app/config.json": `{
  "feature_flags": {
    "new_checkout": true,
    "dark_mode": false
  },
  "max_connections": 250,
  "upstreams": ["api", "redis"],
  "timeouts": { "read_ms": 1500, "write_ms": 3000 }
}`,
		"app/banner":            "Scheduled maintenance on Sunday 02:00 UTC",
		"app/db/url":            "postgres://app@db-1:5432/app",
		"app/db/pool":           "20",
		"docker/rules":          "Yes, it does",
		"team@corp/owner":       "platform",
		"feature-toggles/beta/": "",
	}
	for _, k := range slices.Sorted(maps.Keys(kv)) {
		_, err := c.KV().Put(&api.KVPair{Key: k, Value: []byte(kv[k])}, nil)
		must(t, err)
	}
}

// seedScale registers nodes nodes with services services spread over them,
// each instance with one check (a tenth warning, a twentieth critical).
func seedScale(t testing.TB, c *api.Client, nodes, services int) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, nodes)
	per := services / nodes
	for n := 0; n < nodes; n++ {
		wg.Go(func() {
			node := fmt.Sprintf("node-%03d", n)
			addr := fmt.Sprintf("10.1.%d.%d", n/250, n%250+1)
			if _, err := c.Catalog().Register(&api.CatalogRegistration{Node: node, Address: addr,
				Check: &api.AgentCheck{Node: node, CheckID: "serfHealth", Name: "Serf Health Status", Status: "passing"}}, nil); err != nil {
				errs <- err
				return
			}
			for i := 0; i < per; i++ {
				k := n*per + i
				status := "passing"
				if k%10 == 3 {
					status = "warning"
				} else if k%20 == 7 {
					status = "critical"
				}
				name := fmt.Sprintf("svc-%04d", k)
				id := name + "-1"
				if _, err := c.Catalog().Register(&api.CatalogRegistration{Node: node, Address: addr, SkipNodeUpdate: true,
					Service: &api.AgentService{ID: id, Service: name, Port: 8000 + i, Tags: []string{"v1", fmt.Sprintf("team-%d", k%7)}},
					Check:   &api.AgentCheck{Node: node, CheckID: "service:" + id, Name: name + " check", ServiceID: id, Status: status}}, nil); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}
