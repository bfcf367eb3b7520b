package checks

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"strings"
	"time"

	"github.com/minconsul/minconsul/structs"
)

// HTTP probes a URL: 2xx passing, 429 warning, anything else critical, as
// Consul.
type HTTP struct {
	URL, Method, Body string
	Header            map[string][]string
	Every, Timeout    time.Duration
	TLSSkipVerify     bool
}

func (h *HTTP) Interval() time.Duration { return h.Every }

func (h *HTTP) Probe(ctx context.Context) (string, string) {
	ctx, cancel := context.WithTimeout(ctx, h.Timeout)
	defer cancel()
	method := h.Method
	if method == "" {
		method = http.MethodGet
	}
	req, err := http.NewRequestWithContext(ctx, method, h.URL, strings.NewReader(h.Body))
	if err != nil {
		return structs.HealthCritical, err.Error()
	}
	for k, vs := range h.Header {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	if req.Header.Get("User-Agent") == "" {
		req.Header.Set("User-Agent", "Consul Health Check")
	}
	tr := &http.Transport{DisableKeepAlives: true, TLSClientConfig: &tls.Config{InsecureSkipVerify: h.TLSSkipVerify}} //nolint:gosec // user opt-in, as Consul's tls_skip_verify
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		return structs.HealthCritical, fmt.Sprintf("Get %q: %v", h.URL, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, MaxOutput))
	out := fmt.Sprintf("HTTP %s %s: %s Output: %s", method, h.URL, resp.Status, body)
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode <= 299:
		return structs.HealthPassing, out
	case resp.StatusCode == http.StatusTooManyRequests:
		return structs.HealthWarning, out
	}
	return structs.HealthCritical, out
}

// TCP probes that a connection to Addr opens.
type TCP struct {
	Addr           string
	Every, Timeout time.Duration
}

func (t *TCP) Interval() time.Duration { return t.Every }

func (t *TCP) Probe(ctx context.Context) (string, string) {
	d := net.Dialer{Timeout: t.Timeout}
	conn, err := d.DialContext(ctx, "tcp", t.Addr)
	if err != nil {
		return structs.HealthCritical, fmt.Sprintf("dial tcp %s: %v", t.Addr, err)
	}
	conn.Close()
	return structs.HealthPassing, fmt.Sprintf("TCP connect %s: Success", t.Addr)
}

// Script runs a command: exit 0 passing, 1 warning, anything else
// critical, as Consul.
type Script struct {
	Args           []string
	Every, Timeout time.Duration
}

func (s *Script) Interval() time.Duration { return s.Every }

func (s *Script) Probe(ctx context.Context) (string, string) {
	ctx, cancel := context.WithTimeout(ctx, s.Timeout)
	defer cancel()
	var out bytes.Buffer
	cmd := exec.CommandContext(ctx, s.Args[0], s.Args[1:]...)
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	text := out.String()
	if err == nil {
		return structs.HealthPassing, text
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) && ee.ExitCode() == 1 {
		return structs.HealthWarning, text
	}
	return structs.HealthCritical, strings.TrimSpace(text + "\n" + err.Error())
}
