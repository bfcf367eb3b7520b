package telemetry

import (
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// BenchmarkMeasureSince is one timer observation with two labels (the
// HTTP timer), next to a bare time.Since as the same-run baseline.
func BenchmarkMeasureSince(b *testing.B) {
	m, err := New(Config{})
	if err != nil {
		b.Fatal(err)
	}
	key := []string{"api", "http"}
	labels := []Label{{Name: "method", Value: "GET"}, {Name: "path", Value: "v1_kv_"}}
	var sink time.Duration
	b.Run("baseline-time.Since", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			sink += time.Since(time.Now())
		}
	})
	b.Run("metrics", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			m.MeasureSince(key, time.Now(), labels...)
		}
	})
	tm := m.Timer(key, labels...)
	b.Run("timer", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			tm.Since(time.Now())
		}
	})
	inmemOnly, err := New(Config{PrometheusRetention: -1})
	if err != nil {
		b.Fatal(err)
	}
	tmInmem := inmemOnly.Timer(key, labels...)
	b.Run("timer-inmem-only", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			tmInmem.Since(time.Now())
		}
	})
	b.Run("timer-parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				tm.Since(time.Now())
			}
		})
	})
	_ = sink
}

// A nil *Metrics records nothing and answers an empty summary; a real one
// shows what it recorded in both outputs and stops its loop.
func TestMetrics_NilAndOutputs(t *testing.T) {
	var none *Metrics
	none.Start()
	none.MeasureSince([]string{"x"}, time.Now())
	none.IncrCounter([]string{"x"}, 1)
	none.SetGauge([]string{"x"}, 1)
	if _, err := none.Summary(); err != nil {
		t.Fatal(err)
	}
	none.Stop()

	m, err := New(Config{DisableHostname: true})
	if err != nil {
		t.Fatal(err)
	}
	m.Start()
	defer m.Stop()
	m.IncrCounter([]string{"kvs", "hits"}, 2, Label{Name: "op", Value: "get"})
	sum, err := m.Summary()
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(sum)
	if !strings.Contains(string(b), `"Name":"consul.kvs.hits"`) || !strings.Contains(string(b), `"Labels":{"op":"get"}`) {
		t.Fatalf("summary %s", b)
	}
	rec := httptest.NewRecorder()
	m.WritePrometheus(rec, httptest.NewRequest("GET", "/v1/agent/metrics?format=prometheus", nil))
	if !strings.Contains(rec.Body.String(), `consul_kvs_hits{op="get"} 2`) {
		t.Fatalf("prometheus:\n%s", rec.Body.String())
	}
	m.Stop() // idempotent with the deferred one
}
