package agent

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"strings"
	"time"

	"github.com/minconsul/minconsul/structs"
)

// checkRunner probes something once; the agent runs it every interval.
type checkRunner interface {
	every() time.Duration
	probe(ctx context.Context) (status, output string)
}

// startCheckLocked starts a check's TTL timer or probe loop. Caller holds a.mu.
func (a *Agent) startCheckLocked(c *localCheck) {
	id := c.hc.CheckID
	if c.ttl > 0 {
		ttl := c.ttl
		c.timer = time.AfterFunc(ttl, func() {
			a.mu.Lock()
			cur, ok := a.checks[id]
			changed := ok && cur == c && a.setStatusLocked(id, structs.HealthCritical,
				fmt.Sprintf("TTL expired (last output before timeout follows): %s", cur.hc.Output))
			a.mu.Unlock()
			if changed {
				a.syncNow(a.ctx)
			}
		})
		return
	}
	if c.runner == nil || a.ctx == nil {
		return
	}
	ctx, cancel := context.WithCancel(a.ctx)
	c.cancel = cancel
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		// First probe right away so a new service's health is known quickly.
		t := time.NewTimer(0)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			status, out := c.runner.probe(ctx)
			if ctx.Err() != nil {
				return
			}
			a.mu.Lock()
			cur, ok := a.checks[id]
			changed := ok && cur == c && a.setStatusLocked(id, status, out)
			a.mu.Unlock()
			if changed {
				a.syncNow(ctx)
			}
			t.Reset(c.runner.every())
		}
	}()
}

// stop halts the check's timer or probe loop.
func (c *localCheck) stop() {
	if c.timer != nil {
		c.timer.Stop()
	}
	if c.cancel != nil {
		c.cancel()
	}
}

// resetTTL restarts a TTL check's deadline after an update.
func (c *localCheck) resetTTL() {
	if c.timer != nil {
		c.timer.Reset(c.ttl)
	}
}

type httpCheck struct {
	url, method, body string
	header            map[string][]string
	interval, timeout time.Duration
	skipVerify        bool
}

func (h *httpCheck) every() time.Duration { return h.interval }

// probe follows Consul: 2xx passing, 429 warning, anything else critical.
func (h *httpCheck) probe(ctx context.Context) (string, string) {
	ctx, cancel := context.WithTimeout(ctx, h.timeout)
	defer cancel()
	method := h.method
	if method == "" {
		method = http.MethodGet
	}
	req, err := http.NewRequestWithContext(ctx, method, h.url, strings.NewReader(h.body))
	if err != nil {
		return structs.HealthCritical, err.Error()
	}
	for k, vs := range h.header {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	if req.Header.Get("User-Agent") == "" {
		req.Header.Set("User-Agent", "Consul Health Check")
	}
	tr := &http.Transport{DisableKeepAlives: true, TLSClientConfig: &tls.Config{InsecureSkipVerify: h.skipVerify}} //nolint:gosec // user opt-in, as Consul's tls_skip_verify
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		return structs.HealthCritical, fmt.Sprintf("Get %q: %v", h.url, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxCheckOutput))
	out := fmt.Sprintf("HTTP %s %s: %s Output: %s", method, h.url, resp.Status, body)
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode <= 299:
		return structs.HealthPassing, out
	case resp.StatusCode == http.StatusTooManyRequests:
		return structs.HealthWarning, out
	}
	return structs.HealthCritical, out
}

type tcpCheck struct {
	addr              string
	interval, timeout time.Duration
}

func (t *tcpCheck) every() time.Duration { return t.interval }

func (t *tcpCheck) probe(ctx context.Context) (string, string) {
	d := net.Dialer{Timeout: t.timeout}
	conn, err := d.DialContext(ctx, "tcp", t.addr)
	if err != nil {
		return structs.HealthCritical, fmt.Sprintf("dial tcp %s: %v", t.addr, err)
	}
	conn.Close()
	return structs.HealthPassing, fmt.Sprintf("TCP connect %s: Success", t.addr)
}

type scriptCheck struct {
	args              []string
	interval, timeout time.Duration
}

func (s *scriptCheck) every() time.Duration { return s.interval }

// probe follows Consul: exit 0 passing, 1 warning, else critical.
func (s *scriptCheck) probe(ctx context.Context) (string, string) {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	var out bytes.Buffer
	cmd := exec.CommandContext(ctx, s.args[0], s.args[1:]...)
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	text := out.String()
	if err == nil {
		return structs.HealthPassing, text
	}
	if ee, ok := err.(*exec.ExitError); ok && ee.ExitCode() == 1 {
		return structs.HealthWarning, text
	}
	return structs.HealthCritical, strings.TrimSpace(text + "\n" + err.Error())
}
