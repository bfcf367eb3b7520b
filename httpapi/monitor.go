package httpapi

import (
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
)

// LogSinks is the agent's logger as /v1/agent/monitor attaches to it (an
// hclog intercept logger).
type LogSinks interface {
	RegisterSink(sink hclog.SinkAdapter)
	DeregisterSink(sink hclog.SinkAdapter)
}

// monitorBuffer is how many lines a slow monitor client may fall behind
// before lines are dropped (Consul's 512).
const monitorBuffer = 512

// monitorLevel is Consul's log level check: TRACE, DEBUG, INFO, WARN, ERR
// or ERROR, any case.
func monitorLevel(s string) (hclog.Level, bool) {
	switch strings.ToUpper(s) {
	case "TRACE":
		return hclog.Trace, true
	case "DEBUG":
		return hclog.Debug, true
	case "INFO":
		return hclog.Info, true
	case "WARN":
		return hclog.Warn, true
	case "ERR", "ERROR":
		return hclog.Error, true
	}
	return hclog.NoLevel, false
}

// lineWriter hands each formatted log line to the monitor's channel
// without ever blocking the logger: a full buffer drops the line.
type lineWriter struct {
	ch      chan []byte
	dropped atomic.Int64
}

func (w *lineWriter) Write(p []byte) (int, error) {
	b := append([]byte(nil), p...)
	select {
	case w.ch <- b:
	default:
		w.dropped.Add(1)
	}
	return len(p), nil
}

// agentMonitor is GET /v1/agent/monitor?loglevel=&logjson: it streams the
// agent's log lines at that level (text or JSON lines) until the client
// hangs up, flushing at least every 200 ms.
func (s *Server) agentMonitor(q *request) error {
	raw := q.query.Get("loglevel")
	if raw == "" {
		raw = "INFO"
	}
	level, ok := monitorLevel(raw)
	if !ok {
		return badRequest("Unknown log level: " + raw)
	}
	flusher, ok := q.w.(http.Flusher)
	if !ok {
		return &httpError{code: http.StatusInternalServerError, msg: "Streaming not supported"}
	}
	w := &lineWriter{ch: make(chan []byte, monitorBuffer)}
	sink := hclog.NewSinkAdapter(&hclog.LoggerOptions{Level: level, JSONFormat: q.has("logjson"), Output: w})
	s.cfg.Logs.RegisterSink(sink)
	defer s.cfg.Logs.DeregisterSink(sink)

	q.w.Header().Set(hdrContentType, "text/plain; charset=utf-8")
	q.w.WriteHeader(http.StatusOK)
	flusher.Flush()
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	ctx := q.r.Context()
	for {
		select {
		case <-ctx.Done():
			if n := w.dropped.Load(); n > 0 {
				s.logger.Warn("Dropped logs during monitor request", "dropped_count", n)
			}
			return nil
		case line := <-w.ch:
			if _, err := q.w.Write(line); err != nil {
				return nil
			}
		case <-tick.C:
			flusher.Flush()
		}
	}
}
