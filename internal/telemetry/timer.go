package telemetry

import (
	"math"
	"sort"
	"strings"
	"sync"
	"time"

	gometrics "github.com/hashicorp/go-metrics"
	"github.com/prometheus/client_golang/prometheus"
)

// Timer is one timer metric with fixed labels for a hot path (a request
// served by HTTP or DNS), made once by Metrics.Timer. Going through
// go-metrics' Metrics and sinks costs about 2 µs and two dozen allocations
// per observation (key and label strings rebuilt, label filtering, a
// sync.Map store), which is several percent of a KV GET or a DNS query; a
// Timer does the same aggregation with its names built once and no
// allocation:
//
//   - in-memory: go-metrics' AggregateSample (count, sum, sum of squares,
//     min, max, rate) of the current and the previous interval, aligned as
//     the InmemSink aligns them; Summary merges the one it shows into the
//     InmemSink's summary under the same name, hash and labels;
//   - Prometheus: the summary go-metrics' Prometheus sink would make for the
//     same key (name, help, const labels, quantiles, a 10 s window; see
//     window for how the quantiles are kept), collected from the agent's
//     registry beside that sink and expired after the same retention.
//
// A nil *Timer records nothing.
type Timer struct {
	m          *Metrics
	name, hash string // the in-memory sink's name and key
	labels     []Label
	promDesc   *prometheus.Desc

	mu        sync.Mutex
	cur, prev timerInterval
	summary   *window // nil: none yet, or expired
	updated   time.Time
}

type timerInterval struct {
	start time.Time
	agg   gometrics.AggregateSample
}

// spaceReplacer and promReplacer sanitise names as go-metrics' in-memory
// and Prometheus sinks do.
var (
	spaceReplacer = strings.NewReplacer(" ", "_")
	promReplacer  = strings.NewReplacer(" ", "_", ".", "_", "=", "_", "-", "_", "/", "_")
)

// Timer returns the timer of key (without the "consul" prefix) and labels,
// the same one for the same name and labels. Callers make it once (per
// route, per server) and keep it. A nil *Metrics gives a nil *Timer.
func (t *Metrics) Timer(key []string, labels ...Label) *Timer {
	if t == nil {
		return nil
	}
	parts := append([]string{t.service}, key...)
	name := spaceReplacer.Replace(strings.Join(parts, "."))
	hash := name
	for _, l := range labels {
		hash += spaceReplacer.Replace(";" + l.Name + "=" + l.Value)
	}
	t.timersMu.Lock()
	defer t.timersMu.Unlock()
	if tm, ok := t.timers[hash]; ok {
		return tm
	}
	promName := promReplacer.Replace(strings.Join(parts, "_"))
	constLabels := prometheus.Labels{}
	for _, l := range labels {
		constLabels[l.Name] = l.Value
	}
	tm := &Timer{m: t, name: name, hash: hash, labels: append([]Label(nil), labels...),
		promDesc: prometheus.NewDesc(promName, promName, nil, constLabels)}
	t.timers[hash] = tm
	t.timerList = append(t.timerList, tm)
	return tm
}

// Since records the time since start, in milliseconds (as go-metrics'
// MeasureSince).
func (tm *Timer) Since(start time.Time) {
	if tm == nil {
		return
	}
	now := time.Now()
	tm.observe(now, now.Sub(start))
}

func (tm *Timer) observe(now time.Time, elapsed time.Duration) {
	// go-metrics' value: float32 milliseconds.
	v := float64(float32(elapsed.Nanoseconds()) / float32(time.Millisecond))
	start := now.Truncate(tm.m.interval)
	tm.mu.Lock()
	if !tm.cur.start.Equal(start) {
		if tm.cur.agg.Count > 0 {
			tm.prev = tm.cur
		}
		tm.cur = timerInterval{start: start}
	}
	a := &tm.cur.agg
	a.Count++
	a.Sum += v
	a.SumSq += v * v
	if v < a.Min || a.Count == 1 {
		a.Min = v
	}
	if v > a.Max || a.Count == 1 {
		a.Max = v
	}
	a.LastUpdated = now
	if tm.m.registry != nil {
		if tm.summary == nil {
			tm.summary = &window{}
		}
		tm.summary.observe(now.UnixNano(), v)
		tm.updated = now
	}
	tm.mu.Unlock()
}

// sampled is the timer's aggregate of the interval the in-memory summary
// with this Timestamp shows, in that summary's shape.
func (tm *Timer) sampled(timestamp string) (gometrics.SampledValue, bool) {
	tm.mu.Lock()
	defer tm.mu.Unlock()
	for _, iv := range []*timerInterval{&tm.cur, &tm.prev} {
		if iv.agg.Count == 0 || iv.start.Round(time.Second).UTC().String() != timestamp {
			continue
		}
		agg := iv.agg
		agg.Rate = agg.Sum / tm.m.interval.Seconds()
		display := make(map[string]string, len(tm.labels))
		for _, l := range tm.labels {
			display[l.Name] = l.Value
		}
		return gometrics.SampledValue{Name: tm.name, Hash: tm.hash, AggregateSample: &agg,
			Mean: agg.Mean(), Stddev: stddev(&agg), DisplayLabels: display}, true
	}
	return gometrics.SampledValue{}, false
}

// stddev is AggregateSample.Stddev, guarded against the tiny negative
// variance rounding can leave (NaN does not encode as JSON).
func stddev(a *gometrics.AggregateSample) float64 {
	s := a.Stddev()
	if math.IsNaN(s) {
		return 0
	}
	return s
}

// mergeTimers adds the timers' samples of the summary's interval.
func (t *Metrics) mergeTimers(sum gometrics.MetricsSummary) gometrics.MetricsSummary {
	t.timersMu.Lock()
	timers := append([]*Timer(nil), t.timerList...)
	t.timersMu.Unlock()
	added := false
	for _, tm := range timers {
		if sv, ok := tm.sampled(sum.Timestamp); ok {
			sum.Samples = append(sum.Samples, sv)
			added = true
		}
	}
	if added {
		sort.Slice(sum.Samples, func(i, j int) bool { return sum.Samples[i].Hash < sum.Samples[j].Hash })
	}
	return sum
}

// timerCollector puts the timers' summaries in the agent's registry. It
// describes nothing (an unchecked collector), as the timers come and go.
type timerCollector struct{ m *Metrics }

func (c timerCollector) Describe(chan<- *prometheus.Desc) {}

func (c timerCollector) Collect(ch chan<- prometheus.Metric) {
	c.m.timersMu.Lock()
	timers := append([]*Timer(nil), c.m.timerList...)
	c.m.timersMu.Unlock()
	now := time.Now()
	for _, tm := range timers {
		tm.mu.Lock()
		// As the go-metrics sink: a summary not updated within the
		// retention is dropped (and starts afresh on the next update).
		if tm.summary != nil && tm.updated.Add(c.m.promRetention).Before(now) {
			tm.summary = nil
		}
		var m prometheus.Metric
		if tm.summary != nil {
			m = tm.summary.metric(tm.promDesc, now.UnixNano())
		}
		tm.mu.Unlock()
		if m != nil {
			ch <- m
		}
	}
}
