package checks

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"strings"
	"sync"
	"time"

	"github.com/minconsul/minconsul/structs"
)

// TLS is how a probe that speaks TLS verifies its peer (Consul's
// TLSServerName and TLSSkipVerify).
type TLS struct {
	ServerName string
	SkipVerify bool
}

func (t TLS) config(nextProtos ...string) *tls.Config {
	return &tls.Config{ServerName: t.ServerName, InsecureSkipVerify: t.SkipVerify, NextProtos: nextProtos} //nolint:gosec // user opt-in, as Consul's tls_skip_verify
}

// HTTP probes a URL: 2xx passing, 429 warning, anything else critical, as
// Consul. The output quotes the last MaxOutputSize bytes (0: MaxOutput)
// of the body.
type HTTP struct {
	URL, Method, Body string
	Header            map[string][]string
	Every, Timeout    time.Duration
	TLS               TLS
	DisableRedirects  bool
	MaxOutputSize     int

	once   sync.Once
	client *http.Client
}

// httpClient is built once per check, as Consul's: no keep-alives, so a
// server that stopped accepting connections is not hidden by one kept
// open between probes.
func (h *HTTP) httpClient() *http.Client {
	h.once.Do(func() {
		tr := &http.Transport{DisableKeepAlives: true, TLSClientConfig: h.TLS.config(), Proxy: http.ProxyFromEnvironment}
		h.client = &http.Client{Transport: tr, Timeout: h.Timeout}
		if h.DisableRedirects {
			h.client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
		}
	})
	return h.client
}

func (h *HTTP) Interval() time.Duration { return h.Every }

func (h *HTTP) Probe(ctx context.Context) (string, string) {
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
	if host := req.Header.Get("Host"); host != "" {
		req.Host = host
	}
	if req.Header.Get("User-Agent") == "" {
		req.Header.Set("User-Agent", "Consul Health Check")
	}
	if req.Header.Get("Accept") == "" {
		req.Header.Set("Accept", "text/plain, text/*, */*")
	}
	resp, err := h.httpClient().Do(req)
	if err != nil {
		return structs.HealthCritical, err.Error()
	}
	defer resp.Body.Close()
	body := newTail(capOr(h.MaxOutputSize))
	_, _ = io.Copy(body, resp.Body)
	out := fmt.Sprintf("HTTP %s %s: %s Output: %s", method, h.URL, resp.Status, body)
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode <= 299:
		return structs.HealthPassing, out
	case resp.StatusCode == http.StatusTooManyRequests:
		return structs.HealthWarning, out
	}
	return structs.HealthCritical, out
}

// TCP probes that a connection to Addr opens (and, with UseTLS, that a
// TLS handshake completes).
type TCP struct {
	Addr           string
	UseTLS         bool
	TLS            TLS
	Every, Timeout time.Duration
}

func (t *TCP) Interval() time.Duration { return t.Every }

func (t *TCP) Probe(ctx context.Context) (string, string) {
	d := &net.Dialer{Timeout: t.Timeout}
	kind := "TCP"
	var conn net.Conn
	var err error
	if t.UseTLS {
		kind = "TCP+TLS"
		conn, err = (&tls.Dialer{NetDialer: d, Config: t.TLS.config()}).DialContext(ctx, "tcp", t.Addr)
	} else {
		conn, err = d.DialContext(ctx, "tcp", t.Addr)
	}
	if err != nil {
		// The dialer's error already reads "dial tcp <addr>: ...".
		return structs.HealthCritical, err.Error()
	}
	conn.Close()
	return structs.HealthPassing, fmt.Sprintf("%s connect %s: Success", kind, t.Addr)
}

// UDP sends a datagram to Addr and waits up to Timeout for an answer: an
// answer, or none, is passing (UDP has no handshake); an error (a port
// unreachable reported back as a refused read) is critical, as Consul.
type UDP struct {
	Addr           string
	Every, Timeout time.Duration
}

func (u *UDP) Interval() time.Duration { return u.Every }

func (u *UDP) Probe(ctx context.Context) (string, string) {
	conn, err := (&net.Dialer{Timeout: u.Timeout}).DialContext(ctx, "udp", u.Addr)
	if err != nil {
		return structs.HealthCritical, err.Error()
	}
	defer conn.Close()
	ok := fmt.Sprintf("UDP connect %s: Success", u.Addr)
	_ = conn.SetDeadline(time.Now().Add(u.Timeout))
	if _, err := conn.Write([]byte{}); err != nil {
		return structs.HealthCritical, err.Error()
	}
	if _, err := conn.Read(make([]byte, 1)); err != nil {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			return structs.HealthPassing, ok
		}
		return structs.HealthCritical, err.Error()
	}
	return structs.HealthPassing, ok
}

// Script runs a command: exit 0 passing, 1 warning, anything else
// critical, as Consul. The output is the command's last MaxOutputSize
// bytes (0: MaxOutput).
type Script struct {
	Args           []string
	Every, Timeout time.Duration
	MaxOutputSize  int
}

func (s *Script) Interval() time.Duration { return s.Every }

func (s *Script) Probe(ctx context.Context) (string, string) {
	ctx, cancel := context.WithTimeout(ctx, s.Timeout)
	defer cancel()
	out := newTail(capOr(s.MaxOutputSize))
	cmd := exec.CommandContext(ctx, s.Args[0], s.Args[1:]...)
	cmd.Stdout, cmd.Stderr = out, out
	cmd.WaitDelay = time.Second
	err := cmd.Run()
	if ctx.Err() == context.DeadlineExceeded {
		return structs.HealthCritical, timedOut(s.Timeout, out)
	}
	if err == nil {
		return structs.HealthPassing, out.captured()
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ee.ExitCode() == 1 {
			return structs.HealthWarning, out.captured()
		}
		return structs.HealthCritical, out.captured()
	}
	return structs.HealthCritical, err.Error() // could not start
}

// timedOut is Consul's output for a command that ran past its timeout.
func timedOut(timeout time.Duration, out *tail) string {
	msg := fmt.Sprintf("Timed out (%s) running check", timeout)
	if s := out.captured(); s != "" {
		msg += "\n\n" + s
	}
	return msg
}
