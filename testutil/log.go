package testutil

import (
	"io"
	"strings"
	"sync"
	"testing"

	"github.com/hashicorp/go-hclog"
)

// Logger is a debug-level logger writing to t.Log (shown only when the
// test fails); an intercept logger, as the binary's, so /v1/agent/monitor
// works in tests.
func Logger(t testing.TB, name string) hclog.Logger {
	return LoggerAt(t, name, hclog.Debug)
}

// LoggerAt is Logger at another level. Benchmarks use Info, the agent's
// default: a debug line per HTTP request sent through t.Log (a caller
// lookup and a copy each) would be measured as if the agent paid for it.
func LoggerAt(t testing.TB, name string, level hclog.Level) hclog.Logger {
	return hclog.NewInterceptLogger(&hclog.LoggerOptions{Name: name, Level: level, Output: LogWriter(t)})
}

// LogWriter writes each line to t.Log until the test's cleanups have run
// and drops what comes later: an agent still shutting down may log after
// the test ended, which t.Log would panic on.
func LogWriter(t testing.TB) io.Writer {
	w := &logWriter{t: t}
	t.Cleanup(func() {
		w.mu.Lock()
		w.done = true
		w.mu.Unlock()
	})
	return w
}

type logWriter struct {
	mu   sync.Mutex
	t    testing.TB
	done bool
}

func (w *logWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.done {
		w.t.Log(strings.TrimRight(string(p), "\n"))
	}
	return len(p), nil
}
