package agent_test

import (
	"strings"
	"testing"

	"github.com/minconsul/minconsul/testutil/testagent"
)

// PUT /v1/agent/service/register takes Consul's snake_case keys
// (enable_tag_override, tagged_addresses, and the checks' own), read back
// through the official client.
func TestAgent_ServiceRegisterSnakeCase(t *testing.T) {
	a := testagent.Start(t, testagent.Options{})
	c := a.Client(t)
	code, msg := putJSON(t, a, "/v1/agent/service/register", `{"name":"web","id":"web1","port":8080,
		"enable_tag_override":true,"tagged_addresses":{"wan":{"address":"203.0.113.7","port":80}},
		"checks":[{"check_id":"web-ttl","name":"web ttl","ttl":"10m","deregister_critical_service_after":"90m",
		"status":"passing","success_before_passing":1}]}`)
	if code != 200 {
		t.Fatalf("register: %d %s", code, msg)
	}
	svc, _, err := c.Agent().Service("web1", nil)
	if err != nil {
		t.Fatal(err)
	}
	if !svc.EnableTagOverride || svc.TaggedAddresses["wan"].Address != "203.0.113.7" || svc.TaggedAddresses["wan"].Port != 80 {
		t.Fatalf("snake_case keys lost: %+v", svc)
	}
	checks, err := c.Agent().Checks()
	if err != nil {
		t.Fatal(err)
	}
	if hc := checks["web-ttl"]; hc == nil || hc.ServiceID != "web1" || hc.Status != "passing" ||
		hc.Definition.DeregisterCriticalServiceAfterDuration.String() != "1h30m0s" {
		t.Fatalf("snake_case check: %+v", hc)
	}
	// A wrongly typed snake_case value is a decode error, and nothing is
	// registered.
	code, msg = putJSON(t, a, "/v1/agent/service/register", `{"name":"bad","enable_tag_override":"yes"}`)
	if code != 400 || !strings.Contains(msg, "Request decode failed") {
		t.Fatalf("bad enable_tag_override: %d %s", code, msg)
	}
	if svcs, err := c.Agent().Services(); err != nil || svcs["bad"] != nil {
		t.Fatalf("refused service registered anyway (%v)", err)
	}
}
