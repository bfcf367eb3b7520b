// Package telemetry is one agent's metrics: a go-metrics instance (never
// the package-global one) writing to an in-memory sink, which
// /v1/agent/metrics shows in Consul's JSON shape, and to a Prometheus sink
// on the agent's own registry (?format=prometheus). cmd/minconsul/wire
// makes one per agent and passes it down; a nil *Metrics records nothing,
// so parts built without one (unit tests) need no guards.
//
// Names follow Consul's (prefix "consul"): consul.api.http (method, path),
// consul.dns.domain_query, consul.kvs.apply, consul.catalog.register,
// consul.rpc.request, consul.raft.apply, ... with the runtime gauges
// (consul.runtime.*) emitted every second by Start's loop. The timers of
// every request (HTTP, DNS) are Timers (timer.go): same outputs, a small
// fraction of the cost.
package telemetry

import (
	"context"
	"io"
	"net/http"
	"os"
	"sync"
	"time"

	gometrics "github.com/hashicorp/go-metrics"
	promsink "github.com/hashicorp/go-metrics/prometheus"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Label is a metric label (go-metrics').
type Label = gometrics.Label

// Config is the telemetry block of the agent configuration.
type Config struct {
	// DisableHostname drops the host name Consul puts in gauge names.
	DisableHostname bool
	// PrometheusRetention is how long a metric not updated stays in the
	// Prometheus output (Consul's prometheus_retention_time); 0: 60s;
	// negative: no Prometheus sink (as Consul with the key set to 0).
	PrometheusRetention time.Duration
	// Interval and Retain shape the in-memory sink (Consul: 10s, 1m).
	Interval, Retain time.Duration
}

// Metrics is one agent's metrics instance and its sinks.
type Metrics struct {
	m        *gometrics.Metrics
	inmem    *gometrics.InmemSink
	prom     *promsink.PrometheusSink
	registry *prometheus.Registry
	promHTTP http.Handler

	// What the hot-path Timers need of the configuration.
	service       string
	interval      time.Duration
	promRetention time.Duration
	timersMu      sync.Mutex
	timers        map[string]*Timer
	timerList     []*Timer

	stopOnce sync.Once
	cancel   context.CancelFunc
	wg       sync.WaitGroup
}

// New builds an agent's metrics; Start runs its runtime-stats loop.
func New(cfg Config) (*Metrics, error) {
	if cfg.Interval <= 0 {
		cfg.Interval = 10 * time.Second
	}
	if cfg.Retain <= 0 {
		cfg.Retain = time.Minute
	}
	if cfg.PrometheusRetention == 0 {
		cfg.PrometheusRetention = time.Minute
	}
	inmem := gometrics.NewInmemSink(cfg.Interval, cfg.Retain)
	sinks := gometrics.FanoutSink{inmem}
	t := &Metrics{inmem: inmem, interval: cfg.Interval, promRetention: cfg.PrometheusRetention, timers: map[string]*Timer{}}
	if cfg.PrometheusRetention > 0 {
		t.registry = prometheus.NewRegistry()
		prom, err := promsink.NewPrometheusSinkFrom(promsink.PrometheusOpts{Expiration: cfg.PrometheusRetention,
			Registerer: t.registry, Name: "minconsul"})
		if err != nil {
			return nil, err
		}
		t.prom = prom
		if err := t.registry.Register(timerCollector{t}); err != nil {
			return nil, err
		}
		t.promHTTP = promhttp.HandlerFor(t.registry, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError})
		sinks = append(sinks, prom)
	}
	conf := gometrics.DefaultConfig("consul")
	t.service = conf.ServiceName
	// The runtime loop is ours (stopped with the agent): go-metrics' own
	// never ends.
	conf.EnableRuntimeMetrics = false
	conf.EnableHostname = !cfg.DisableHostname
	if conf.HostName == "" {
		conf.HostName, _ = os.Hostname()
	}
	m, err := gometrics.New(conf, sinks)
	if err != nil {
		return nil, err
	}
	t.m = m
	return t, nil
}

// Start emits the runtime gauges every second until Stop.
func (t *Metrics) Start() {
	if t == nil {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.cancel = cancel
	t.wg.Add(1)
	go func() {
		defer t.wg.Done()
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		t.m.EmitRuntimeStats()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				t.m.EmitRuntimeStats()
			}
		}
	}()
}

// Stop ends the runtime loop. Idempotent.
func (t *Metrics) Stop() {
	if t == nil {
		return
	}
	t.stopOnce.Do(func() {
		if t.cancel != nil {
			t.cancel()
		}
		t.wg.Wait()
	})
}

// MeasureSince records a timer (milliseconds) since start. Hot paths use
// a Timer instead.
func (t *Metrics) MeasureSince(key []string, start time.Time, labels ...Label) {
	if t == nil {
		return
	}
	t.m.MeasureSinceWithLabels(key, start, labels)
}

// IncrCounter adds val to a counter.
func (t *Metrics) IncrCounter(key []string, val float32, labels ...Label) {
	if t == nil {
		return
	}
	t.m.IncrCounterWithLabels(key, val, labels)
}

// SetGauge sets a gauge.
func (t *Metrics) SetGauge(key []string, val float32, labels ...Label) {
	if t == nil {
		return
	}
	t.m.SetGaugeWithLabels(key, val, labels)
}

// Summary is /v1/agent/metrics: the most recent finished interval of the
// in-memory sink (the current one while there is no other), in Consul's
// shape (Timestamp, Gauges, Points, Counters, Samples).
func (t *Metrics) Summary() (any, error) {
	if t == nil {
		return gometrics.MetricsSummary{Gauges: []gometrics.GaugeValue{}, Points: []gometrics.PointValue{},
			Counters: []gometrics.SampledValue{}, Samples: []gometrics.SampledValue{}}, nil
	}
	out, err := t.inmem.DisplayMetrics(nil, nil)
	if sum, ok := out.(gometrics.MetricsSummary); ok && err == nil {
		return t.mergeTimers(sum), nil
	}
	return out, err
}

// PrometheusEnabled reports whether the Prometheus sink exists.
func (t *Metrics) PrometheusEnabled() bool { return t != nil && t.promHTTP != nil }

// WritePrometheus writes the Prometheus text exposition of the agent's
// registry, answering the request as promhttp does (content negotiation).
// Callers check PrometheusEnabled first.
func (t *Metrics) WritePrometheus(w http.ResponseWriter, r *http.Request) {
	if !t.PrometheusEnabled() {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		_, _ = io.WriteString(w, "")
		return
	}
	t.promHTTP.ServeHTTP(w, r)
}
