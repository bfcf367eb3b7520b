package httpapi

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"
	"github.com/hashicorp/go-hclog"

	"github.com/minconsul/minconsul/internal/telemetry"
	"github.com/minconsul/minconsul/structs"
	"github.com/minconsul/minconsul/testutil"
)

// BenchmarkMetricsCost_KVGet is the A/B of the metrics sink on KV GET: two
// API servers over the same lone raftstore, one recording (in-memory and
// Prometheus sinks), one not, in interleaved rounds of concurrent
// keep-alive clients. cost = median over the interleaved
// pairs of rounds of with / without time (1.03 is a 3 % cost).
func BenchmarkMetricsCost_KVGet(b *testing.B) {
	e := newEnv(b)
	e.srv.logger.SetLevel(hclog.Info)
	if _, err := e.client.KV().Put(&api.KVPair{Key: "bench/key", Value: []byte("some-value-of-moderate-size-0123456789")}, nil); err != nil {
		b.Fatal(err)
	}
	round := getRounds(b)
	// inmem: Consul's default sinks; inmem+prometheus: minconsul's default;
	// none: a second server without sinks (A/A: the harness's own bias).
	for _, sinks := range []struct {
		name      string
		retention time.Duration
	}{{"none", 0}, {"inmem", -1}, {"inmem+prometheus", 0}} {
		b.Run(sinks.name, func(b *testing.B) {
			var met *telemetry.Metrics
			if sinks.name != "none" {
				var err error
				if met, err = telemetry.New(telemetry.Config{PrometheusRetention: sinks.retention}); err != nil {
					b.Fatal(err)
				}
			}
			with := httptest.NewServer(New(Config{Datacenter: "dc1", NodeName: "node1", Metrics: met}, e.back, e.agent, hclog.NewNullLogger()))
			b.Cleanup(with.Close)
			var ab testutil.ABRounds
			for i := 0; i < b.N; i++ {
				var tWith, tWithout time.Duration
				if i%2 == 0 {
					tWithout = round(e.http.URL + "/v1/kv/bench/key")
					tWith = round(with.URL + "/v1/kv/bench/key")
				} else {
					tWith = round(with.URL + "/v1/kv/bench/key")
					tWithout = round(e.http.URL + "/v1/kv/bench/key")
				}
				ab.Add(tWithout, tWith)
			}
			ab.Report(b, perRound, "req")
		})
	}
}

// BenchmarkMetricsCost_Handler is the handler alone (stub backend, no
// sockets) with and without the sink: the absolute cost per request.
func BenchmarkMetricsCost_Handler(b *testing.B) {
	st := &stubBackend{entry: &structs.DirEntry{Key: "bench/key", Value: []byte("v"), CreateIndex: 5, ModifyIndex: 7}}
	met, err := telemetry.New(telemetry.Config{})
	if err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct {
		name string
		met  *telemetry.Metrics
	}{{"without", nil}, {"with", met}} {
		srv := New(Config{Datacenter: "dc1", Metrics: c.met}, st, nil, hclog.NewNullLogger())
		b.Run(c.name, func(b *testing.B) {
			req := httptest.NewRequest("GET", "/v1/kv/bench/key", nil)
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				srv.ServeHTTP(&discardWriter{h: http.Header{}}, req)
			}
		})
	}
}
