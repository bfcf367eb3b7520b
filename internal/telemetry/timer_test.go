package telemetry

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	gometrics "github.com/hashicorp/go-metrics"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// A Timer's observations show in both outputs exactly as the same values
// sent through go-metrics' own Metrics and sinks: same name, hash, labels
// and aggregates in the JSON summary, same Prometheus lines.
func TestTimer_SameAsGoMetrics(t *testing.T) {
	// An hour-long interval: both recordings land in the same one.
	cfg := Config{DisableHostname: true, Interval: time.Hour, Retain: 2 * time.Hour}
	ref, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	got, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	key := []string{"api", "http"}
	labels := []Label{{Name: "method", Value: "GET"}, {Name: "path", Value: "v1_kv_"}}
	tm := got.Timer(key, labels...)
	if again := got.Timer(key, labels...); again != tm {
		t.Fatal("Timer of the same name and labels is not the same one")
	}
	other := got.Timer([]string{"dns", "domain_query"}, Label{Name: "node", Value: "n 1"})
	for _, d := range []time.Duration{1500 * time.Microsecond, 250 * time.Microsecond, 3 * time.Millisecond, 42 * time.Microsecond} {
		now := time.Now()
		ms := float32(d.Nanoseconds()) / float32(time.Millisecond)
		ref.m.AddSampleWithLabels(key, ms, labels)
		tm.observe(now, d)
		ref.m.AddSampleWithLabels([]string{"dns", "domain_query"}, ms, []Label{{Name: "node", Value: "n 1"}})
		other.observe(now, d)
	}
	samples := func(m *Metrics) string {
		sum, err := m.Summary()
		if err != nil {
			t.Fatal(err)
		}
		b, err := json.Marshal(sum.(gometrics.MetricsSummary).Samples)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	if a, b := samples(ref), samples(got); a != b || !strings.Contains(b, `"Count":4`) {
		t.Fatalf("JSON samples differ:\ngo-metrics: %s\ntimer:      %s", a, b)
	}
	prom := func(m *Metrics) map[string]*dto.MetricFamily {
		rec := httptest.NewRecorder()
		m.WritePrometheus(rec, httptest.NewRequest("GET", "/v1/agent/metrics?format=prometheus", nil))
		parser := expfmt.NewTextParser(model.LegacyValidation)
		fams, err := parser.TextToMetricFamilies(strings.NewReader(rec.Body.String()))
		if err != nil {
			t.Fatal(err)
		}
		return fams
	}
	want, have := prom(ref), prom(got)
	for _, name := range []string{"consul_api_http", "consul_dns_domain_query"} {
		w, h := want[name], have[name]
		if w == nil || h == nil || len(w.Metric) != 1 || len(h.Metric) != 1 {
			t.Fatalf("%s: go-metrics %v, timer %v", name, w, h)
		}
		if w.GetHelp() != h.GetHelp() || w.GetType() != h.GetType() || fmt.Sprint(w.Metric[0].Label) != fmt.Sprint(h.Metric[0].Label) {
			t.Fatalf("%s differs:\ngo-metrics %v\ntimer      %v", name, w, h)
		}
		ws, hs := w.Metric[0].GetSummary(), h.Metric[0].GetSummary()
		if ws.GetSampleCount() != 4 || ws.GetSampleCount() != hs.GetSampleCount() || ws.GetSampleSum() != hs.GetSampleSum() || len(ws.Quantile) != len(hs.Quantile) {
			t.Fatalf("%s summary differs:\ngo-metrics %v\ntimer      %v", name, ws, hs)
		}
		// Quantiles: the same rank, within the buckets' 0.8 %.
		for i, q := range ws.Quantile {
			if q.GetQuantile() != hs.Quantile[i].GetQuantile() || math.Abs(hs.Quantile[i].GetValue()/q.GetValue()-1) > 0.008 {
				t.Fatalf("%s quantiles differ:\ngo-metrics %v\ntimer      %v", name, ws, hs)
			}
		}
	}
}

// The window's quantiles are those of the observations (within 0.8 %), it
// forgets observations older than 10 s, and an empty one answers NaN (as
// client_golang's summary).
func TestWindow_Quantiles(t *testing.T) {
	var w window
	desc := prometheus.NewDesc("x", "x", nil, nil)
	now := time.Now().UnixNano()
	var vals []float64
	for i := 1; i <= 1000; i++ {
		v := float64(i) * 0.013 // 13 µs .. 13 ms
		vals = append(vals, v)
		w.observe(now, v)
	}
	read := func(at int64) *dto.Summary {
		var m dto.Metric
		if err := w.metric(desc, at).Write(&m); err != nil {
			t.Fatal(err)
		}
		return m.GetSummary()
	}
	s := read(now)
	if s.GetSampleCount() != 1000 {
		t.Fatalf("count %d", s.GetSampleCount())
	}
	for _, q := range s.Quantile {
		exact := vals[int(math.Ceil(q.GetQuantile()*1000))-1]
		if math.Abs(q.GetValue()/exact-1) > 0.008 {
			t.Fatalf("quantile %v: %v, observed %v", q.GetQuantile(), q.GetValue(), exact)
		}
	}
	later := read(now + int64(11*time.Second))
	if later.GetSampleCount() != 1000 || !math.IsNaN(later.Quantile[0].GetValue()) {
		t.Fatalf("after 11 s: %v", later)
	}
	w.observe(now+int64(12*time.Second), 2)
	if s := read(now + int64(12*time.Second)); s.Quantile[0].GetValue() < 1.98 || s.Quantile[0].GetValue() > 2.02 {
		t.Fatalf("after a new observation: %v", s)
	}
}

// A nil Metrics gives a nil Timer, which records nothing.
func TestTimer_Nil(t *testing.T) {
	var none *Metrics
	tm := none.Timer([]string{"x"})
	tm.Since(time.Now())
	if tm != nil {
		t.Fatal("timer from nil metrics")
	}
}

// Observations go to the interval they happen in: the summary shows the
// last finished interval's aggregate, not the current one's.
func TestTimer_Intervals(t *testing.T) {
	m, err := New(Config{DisableHostname: true, Interval: time.Hour, Retain: 3 * time.Hour, PrometheusRetention: -1})
	if err != nil {
		t.Fatal(err)
	}
	tm := m.Timer([]string{"api", "http"})
	now := time.Now()
	tm.observe(now.Add(-time.Hour), time.Millisecond)
	tm.observe(now, 2*time.Millisecond)
	tm.observe(now, 4*time.Millisecond)
	if sv, ok := tm.sampled(now.Add(-time.Hour).Truncate(time.Hour).UTC().String()); !ok || sv.Count != 1 || sv.Sum != 1 {
		t.Fatalf("previous interval: %+v %v", sv.AggregateSample, ok)
	}
	if sv, ok := tm.sampled(now.Truncate(time.Hour).UTC().String()); !ok || sv.Count != 2 || sv.Max != 4 || sv.Min != 2 || sv.Mean != 3 {
		t.Fatalf("current interval: %+v %v", sv.AggregateSample, ok)
	}
}
