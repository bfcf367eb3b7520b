package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/minconsul/minconsul/cmd/minconsul/wire"
)

// BenchKey is the key the GET and blocking measurements read.
const BenchKey = "bench/key"

// Response is one captured HTTP answer.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// Capture performs one GET and returns the answer.
func Capture(ctx context.Context, client *http.Client, url string) (*Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	return &Response{Status: resp.StatusCode, Header: resp.Header.Clone(), Body: body}, nil
}

// replayer copies r's headers (less Date and Content-Length, which
// net/http sets itself) and body once and returns a function writing them
// and r's status to w. extra, if not nil, may adjust the headers just
// before the status is written.
func (r *Response) replayer() func(w http.ResponseWriter, extra func(http.Header)) {
	hdr := r.Header.Clone()
	hdr.Del("Date")
	hdr.Del("Content-Length")
	body := bytes.Clone(r.Body)
	return func(w http.ResponseWriter, extra func(http.Header)) {
		for k, v := range hdr {
			w.Header()[k] = v
		}
		if extra != nil {
			extra(w.Header())
		}
		w.WriteHeader(r.Status)
		_, _ = w.Write(body)
	}
}

// BareHTTP is a plain net/http server on 127.0.0.1:0 answering every
// request with one fixed response.
type BareHTTP struct {
	URL string
	srv *http.Server
}

// StartBareHTTP serves r (its headers except the ones net/http sets
// itself, its status and its body) to every request.
func StartBareHTTP(r *Response) (*BareHTTP, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	replay := r.replayer()
	h := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { replay(w, nil) })
	b := &BareHTTP{URL: "http://" + ln.Addr().String(), srv: &http.Server{Handler: h}}
	go func() { _ = b.srv.Serve(ln) }()
	return b, nil
}

// Close stops the server.
func (b *BareHTTP) Close() { _ = b.srv.Close() }

// KVGetTarget is a -dev agent holding BenchKey plus a bare server replaying
// the agent's answer to GET /v1/kv/BenchKey.
type KVGetTarget struct {
	Agent    *wire.Agent
	AgentURL string // full URL of the GET on the agent
	BareURL  string // same path on the bare server
	Captured *Response
	bare     *BareHTTP
}

// SetupKVGet starts the agent, writes the key and starts the baseline.
func SetupKVGet(ctx context.Context, o Options) (*KVGetTarget, error) {
	o = o.withDefaults()
	a, err := StartAgent(ctx, DevConfig("bench-get"), o.Logger)
	if err != nil {
		return nil, err
	}
	t := &KVGetTarget{Agent: a}
	base := "http://" + a.HTTPAddr()
	client := NewHTTPClient(1)
	if err := httpPut(ctx, client, base+"/v1/kv/"+BenchKey, "some value of a realistic size: 0123456789abcdef"); err != nil {
		t.Close()
		return nil, err
	}
	t.AgentURL = base + "/v1/kv/" + BenchKey
	if t.Captured, err = Capture(ctx, client, t.AgentURL); err != nil {
		t.Close()
		return nil, err
	}
	if t.Captured.Status != http.StatusOK {
		t.Close()
		return nil, fmt.Errorf("GET %s: status %d: %s", t.AgentURL, t.Captured.Status, t.Captured.Body)
	}
	if t.bare, err = StartBareHTTP(t.Captured); err != nil {
		t.Close()
		return nil, err
	}
	t.BareURL = t.bare.URL + "/v1/kv/" + BenchKey
	return t, nil
}

// Close stops the baseline and the agent.
func (t *KVGetTarget) Close() {
	if t.bare != nil {
		t.bare.Close()
	}
	if t.Agent != nil {
		_ = t.Agent.Shutdown()
	}
}

// KVGet measures GET /v1/kv/<key> on the agent and on the bare replay with
// the same load generator, in alternating rounds, and reports agent/bare.
func KVGet(ctx context.Context, o Options) (Result, error) {
	o = o.withDefaults()
	t, err := SetupKVGet(ctx, o)
	if err != nil {
		return Result{}, err
	}
	defer t.Close()
	agentClient, bareClient := NewHTTPClient(o.Concurrency), NewHTTPClient(o.Concurrency)
	defer agentClient.CloseIdleConnections()
	defer bareClient.CloseIdleConnections()
	stopProfile := o.profile("kv-get") // covers the bare rounds too
	agentRate, bareRate, err := Alternate(ctx, 4, o.Warmup, o.Duration,
		func(warm, d time.Duration) (float64, error) {
			r, err := LoadHTTPGet(ctx, agentClient, t.AgentURL, o.Concurrency, warm, d)
			if err != nil {
				err = fmt.Errorf("agent GET: %w", err)
			}
			return r, err
		},
		func(warm, d time.Duration) (float64, error) {
			r, err := LoadHTTPGet(ctx, bareClient, t.BareURL, o.Concurrency, warm, d)
			if err != nil {
				err = fmt.Errorf("bare GET: %w", err)
			}
			return r, err
		})
	stopProfile()
	if err != nil {
		return Result{}, err
	}
	r := Result{
		Name: fmt.Sprintf("kv-get-http c=%d", o.Concurrency), Figure: agentRate, Unit: "req/s",
		Baseline: bareRate, Ratio: ratio(agentRate, bareRate), Target: "ratio >= 0.70",
	}
	r.Pass = r.Ratio >= 0.70
	return r, nil
}

func httpPut(ctx context.Context, client *http.Client, url, body string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, url, strings.NewReader(body))
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || strings.TrimSpace(string(b)) != "true" {
		return fmt.Errorf("PUT %s: status %d: %s", url, resp.StatusCode, b)
	}
	return nil
}
