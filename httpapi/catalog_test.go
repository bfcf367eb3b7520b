package httpapi

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/hashicorp/consul/api"
)

func registerWeb(t *testing.T, e *testEnv, node, addr, id string, tags []string, meta map[string]string, status string) {
	t.Helper()
	reg := &api.CatalogRegistration{
		Node:     node,
		Address:  addr,
		NodeMeta: meta,
		Service:  &api.AgentService{ID: id, Service: "web", Tags: tags, Port: 8080},
		Check: &api.AgentCheck{Node: node, CheckID: "web-check-" + id, Name: "web check", Status: status,
			ServiceID: id},
	}
	if _, err := e.client.Catalog().Register(reg, nil); err != nil {
		t.Fatal(err)
	}
}

func TestCatalog_Table(t *testing.T) {
	e := newEnv(t)
	e.run(t, []httpCase{
		{name: "register", method: "PUT", path: "/v1/catalog/register", body: `{"Node":"n1","Address":"10.0.0.1","Service":{"Service":"db","Port":5432}}`, status: 200, want: "true", exact: true},
		{name: "no node", method: "PUT", path: "/v1/catalog/register", body: `{"Address":"10.0.0.1"}`, status: 400, want: "Must provide node", exact: true},
		{name: "no address", method: "PUT", path: "/v1/catalog/register", body: `{"Node":"n2"}`, status: 400, want: "Must provide address"},
		{name: "no service name", method: "PUT", path: "/v1/catalog/register", body: `{"Node":"n2","Address":"a","Service":{"ID":"x"}}`, status: 400, want: "Must provide service name"},
		{name: "bad json", method: "PUT", path: "/v1/catalog/register", body: `{"Node":`, status: 400, want: "Request decode failed: "},
		{name: "wrong type", method: "PUT", path: "/v1/catalog/register", body: `{"Node":5}`, status: 400, want: "Request decode failed: "},
		{name: "empty body", method: "PUT", path: "/v1/catalog/register", status: 400, want: "Request decode failed: EOF", exact: true},
		{name: "register GET", method: "GET", path: "/v1/catalog/register", status: 405, want: "method GET not allowed", exact: true},
		{name: "datacenters", method: "GET", path: "/v1/catalog/datacenters", status: 200, want: `["dc1"]`, exact: true},
		{name: "service id defaults to name", method: "GET", path: "/v1/catalog/service/db", status: 200, want: `"ServiceID":"db","ServiceName":"db","ServiceTags":[]`},
		{name: "unknown service", method: "GET", path: "/v1/catalog/service/nope", status: 200, want: `[]`, exact: true},
		{name: "missing service name", method: "GET", path: "/v1/catalog/service/", status: 400, want: "Missing service name", exact: true},
		{name: "unknown node", method: "GET", path: "/v1/catalog/node/nope", status: 200, want: `null`, exact: true},
		{name: "unknown node list", method: "GET", path: "/v1/catalog/node-services/nope", status: 200, want: `{"Node":null,"Services":null}`, exact: true},
		{name: "node", method: "GET", path: "/v1/catalog/node/n1", status: 200, want: `"Services":{"db":{"ID":"db","Service":"db","Tags":[]`},
		{name: "node services", method: "GET", path: "/v1/catalog/node-services/n1", status: 200, want: `"Services":[{"ID":"db"`},
		{name: "services", method: "GET", path: "/v1/catalog/services", status: 200, want: `"db":[]`},
		{name: "deregister no node", method: "PUT", path: "/v1/catalog/deregister", body: `{}`, status: 400, want: "Must provide node", exact: true},
		{name: "deregister", method: "PUT", path: "/v1/catalog/deregister", body: `{"Node":"n1","ServiceID":"db"}`, status: 200, want: "true", exact: true},
		{name: "after deregister", method: "GET", path: "/v1/catalog/service/db", status: 200, want: `[]`, exact: true},
		{name: "unknown path", method: "GET", path: "/v1/catalog/bogus", status: 404, want: "Invalid URL path: not a recognized HTTP API endpoint\n", exact: true},
		{name: "unknown v1", method: "GET", path: "/v1/nothing", status: 404, want: "Invalid URL path: not a recognized HTTP API endpoint\n", exact: true},
		{name: "trailing on exact", method: "GET", path: "/v1/catalog/nodes/x", status: 404, want: "not a recognized HTTP API endpoint"},
		{name: "not v1", method: "GET", path: "/v2/kv/x", status: 404, want: "Invalid URL path: if attempting to use the HTTP API, ensure the path starts with '/v1/'\n", exact: true},
	})
}

func TestCatalog_APIClient(t *testing.T) {
	e := newEnv(t)
	registerWeb(t, e, "n1", "10.0.0.1", "web1", []string{"v1", "primary"}, map[string]string{"rack": "a"}, "passing")
	registerWeb(t, e, "n2", "10.0.0.2", "web2", []string{"v2"}, map[string]string{"rack": "b"}, "critical")
	cat := e.client.Catalog()

	nodes, meta, err := cat.Nodes(nil)
	if err != nil || len(nodes) != 2 || meta.LastIndex == 0 {
		t.Fatalf("nodes: %v %v", nodes, err)
	}
	nodes, _, err = cat.Nodes(&api.QueryOptions{NodeMeta: map[string]string{"rack": "b"}})
	if err != nil || len(nodes) != 1 || nodes[0].Node != "n2" || nodes[0].Address != "10.0.0.2" {
		t.Fatalf("nodes by meta: %+v %v", nodes, err)
	}
	svcs, _, err := cat.Services(nil)
	if err != nil || len(svcs["web"]) != 3 {
		t.Fatalf("services: %v %v", svcs, err)
	}
	svcs, _, err = cat.Services(&api.QueryOptions{NodeMeta: map[string]string{"rack": "b"}})
	if err != nil || strings.Join(svcs["web"], ",") != "v2" {
		t.Fatalf("services by meta: %v %v", svcs, err)
	}
	rows, _, err := cat.Service("web", "", nil)
	if err != nil || len(rows) != 2 {
		t.Fatalf("service: %v %v", rows, err)
	}
	rows, _, err = cat.Service("web", "v1", nil)
	if err != nil || len(rows) != 1 || rows[0].ServiceID != "web1" || rows[0].ServicePort != 8080 || rows[0].Node != "n1" {
		t.Fatalf("service by tag: %+v %v", rows, err)
	}
	rows, _, err = cat.ServiceMultipleTags("web", []string{"v1", "primary"}, nil)
	if err != nil || len(rows) != 1 {
		t.Fatalf("service by tags: %+v %v", rows, err)
	}
	rows, _, err = cat.Service("web", "", &api.QueryOptions{NodeMeta: map[string]string{"rack": "a"}})
	if err != nil || len(rows) != 1 || rows[0].Node != "n1" {
		t.Fatalf("service by meta: %+v %v", rows, err)
	}
	node, _, err := cat.Node("n1", nil)
	if err != nil || node == nil || node.Node.Address != "10.0.0.1" || node.Services["web1"] == nil {
		t.Fatalf("node: %+v %v", node, err)
	}
	missing, _, err := cat.Node("zzz", nil)
	if err != nil || missing != nil {
		t.Fatalf("missing node: %+v %v", missing, err)
	}
	list, _, err := cat.NodeServiceList("n2", nil)
	if err != nil || list == nil || len(list.Services) != 1 || list.Services[0].ID != "web2" {
		t.Fatalf("node service list: %+v %v", list, err)
	}
	dcs, err := cat.Datacenters()
	if err != nil || len(dcs) != 1 || dcs[0] != "dc1" {
		t.Fatalf("dcs %v %v", dcs, err)
	}
	if _, err := cat.Deregister(&api.CatalogDeregistration{Node: "n2"}, nil); err != nil {
		t.Fatal(err)
	}
	nodes, _, _ = cat.Nodes(nil)
	if len(nodes) != 1 {
		t.Fatalf("after deregister: %v", nodes)
	}
}

func TestCatalog_Pretty(t *testing.T) {
	e := newEnv(t)
	_, _, body := e.do("GET", "/v1/catalog/datacenters?pretty", "")
	if body != "[\n    \"dc1\"\n]\n" {
		t.Fatalf("pretty: %q", body)
	}
	var v any
	if err := json.Unmarshal([]byte(body), &v); err != nil {
		t.Fatal(err)
	}
}
