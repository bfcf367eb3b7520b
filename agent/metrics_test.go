package agent_test

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"
	"github.com/miekg/dns"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/minconsul/minconsul/agent"
	"github.com/minconsul/minconsul/testutil"
	"github.com/minconsul/minconsul/testutil/testagent"
)

// Requests leave their timers and counters in /v1/agent/metrics, both as
// Consul's JSON (read through consul/api) and as Prometheus text (parsed
// with expfmt): HTTP by method and path, DNS, KV and catalog writes, Raft
// applies and the runtime gauges.
func TestMetrics_JSONAndPrometheus(t *testing.T) {
	a := testagent.Start(t, testagent.Options{NodeName: "m1"})
	c := a.Client(t)
	if _, err := c.KV().Put(&api.KVPair{Key: "k", Value: []byte("v")}, nil); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.KV().Get("k", nil); err != nil {
		t.Fatal(err)
	}
	if err := c.Agent().ServiceRegister(&api.AgentServiceRegistration{Name: "web", Port: 80}); err != nil {
		t.Fatal(err)
	}
	testutil.DNSQuery(t, a.DNSAddr(), "web.service.consul", dns.TypeA)

	// The JSON shows the last finished 10 s interval: wait for the one
	// holding the requests to finish.
	testutil.Retry(t, 30*time.Second, func() error {
		info, err := c.Agent().Metrics()
		if err != nil {
			return err
		}
		if info.Timestamp == "" {
			return fmt.Errorf("no timestamp: %+v", info)
		}
		var http, kv bool
		for _, s := range info.Samples {
			http = http || (s.Name == "consul.api.http" && s.Labels["method"] == "PUT" && s.Labels["path"] == "v1_kv_")
			kv = kv || s.Name == "consul.kvs.apply"
		}
		var gor bool
		for _, g := range info.Gauges {
			gor = gor || strings.HasSuffix(g.Name, ".runtime.num_goroutines")
		}
		if !http || !kv || !gor {
			return fmt.Errorf("JSON summary lacks http %v kv %v goroutines %v: %+v", http, kv, gor, info)
		}
		return nil
	})
	// The Raft gauges are sampled every 5 s: a later interval shows this
	// server leading.
	testutil.Retry(t, 30*time.Second, func() error {
		info, err := c.Agent().Metrics()
		if err != nil {
			return err
		}
		for _, g := range info.Gauges {
			if strings.HasSuffix(g.Name, ".raft.leader") && g.Value == 1 {
				return nil
			}
		}
		return fmt.Errorf("no raft.leader = 1 gauge: %+v", info.Gauges)
	})

	resp, err := http.Get("http://" + a.HTTPAddr() + "/v1/agent/metrics?format=prometheus")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") {
		t.Fatalf("prometheus: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	p := expfmt.NewTextParser(model.LegacyValidation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	hasLabels := func(f *dto.MetricFamily, want map[string]string) bool {
		for _, m := range f.GetMetric() {
			got := map[string]string{}
			for _, l := range m.GetLabel() {
				got[l.GetName()] = l.GetValue()
			}
			ok := true
			for k, v := range want {
				ok = ok && got[k] == v
			}
			if ok {
				return true
			}
		}
		return false
	}
	for name, want := range map[string]struct {
		typ    dto.MetricType
		labels map[string]string
	}{
		"consul_api_http":         {dto.MetricType_SUMMARY, map[string]string{"method": "GET", "path": "v1_kv_"}},
		"consul_kvs_apply":        {dto.MetricType_SUMMARY, nil},
		"consul_catalog_register": {dto.MetricType_SUMMARY, nil},
		"consul_dns_domain_query": {dto.MetricType_SUMMARY, map[string]string{"node": "m1"}},
		"consul_raft_apply":       {dto.MetricType_COUNTER, nil},
		"consul_raft_commitTime":  {dto.MetricType_SUMMARY, nil},
	} {
		f := fams[name]
		if f == nil {
			t.Errorf("no %s in the Prometheus output", name)
			continue
		}
		if f.GetType() != want.typ || !hasLabels(f, want.labels) {
			t.Errorf("%s: type %v, metrics %v", name, f.GetType(), f.GetMetric())
		}
	}
	var gor bool
	for name := range fams {
		gor = gor || strings.HasSuffix(name, "_runtime_num_goroutines")
	}
	if !gor {
		t.Error("no runtime gauges in the Prometheus output")
	}
}

// telemetry.prometheus_retention_time = 0 turns the Prometheus sink off, as
// Consul: ?format=prometheus answers Consul's 415; the JSON stays.
func TestMetrics_PrometheusOff(t *testing.T) {
	a := testagent.Start(t, testagent.Options{NodeName: "m2", Mutate: func(c *agent.Config) {
		c.Telemetry.PrometheusRetention = -1
	}})
	resp, err := http.Get("http://" + a.HTTPAddr() + "/v1/agent/metrics?format=prometheus")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnsupportedMediaType || string(b) != "Prometheus is not enabled since its retention time is not positive" {
		t.Fatalf("%d %q", resp.StatusCode, b)
	}
	if _, err := a.Client(t).Agent().Metrics(); err != nil {
		t.Fatal(err)
	}
}
