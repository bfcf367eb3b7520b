package rpc

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"
)

// Router tells the forwarder where requests should go.
type Router interface {
	// IsServer is false on client agents, which hold no state.
	IsServer() bool
	IsLeader() bool
	// LeaderAddr is the leader's server-port address ("" when unknown).
	LeaderAddr() string
	// ServerAddrs lists alive servers' server-port addresses.
	ServerAddrs() []string
}

// maxBufferedBody is the largest request body kept in memory so that a
// forward can be retried against another server; larger bodies (snapshot
// restores) are streamed and not retried.
const maxBufferedBody = 1 << 20

// Forwarder sends each /v1 request where Consul would answer it: the local
// agent's own endpoints locally; ?stale reads to the local server (or any
// server, from a client agent); writes and default/consistent reads to the
// leader. Blocking queries are forwarded whole and stay parked on the
// server that owns the watch; the client's disconnect cancels them.
type Forwarder struct {
	local  http.Handler
	router Router
	client *Client
	logger hclog.Logger
}

// NewForwarder wraps the local handler.
func NewForwarder(local http.Handler, router Router, client *Client, logger hclog.Logger) *Forwarder {
	return &Forwarder{local: local, router: router, client: client, logger: logger}
}

func isLocalPath(p string) bool {
	return !strings.HasPrefix(p, "/v1/") || strings.HasPrefix(p, "/v1/agent/")
}

func isKVWrite(r *http.Request) bool {
	return (r.Method == http.MethodPut || r.Method == http.MethodDelete) && strings.HasPrefix(r.URL.Path, "/v1/kv/")
}

func isStale(r *http.Request) bool {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return false
	}
	_, ok := r.URL.Query()["stale"]
	return ok
}

func (f *Forwarder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if isLocalPath(r.URL.Path) {
		f.local.ServeHTTP(w, r)
		return
	}
	server := f.router.IsServer()
	// The leader answers everything itself: skip the hop header and the
	// query-string parse of isStale (r.URL.Query allocates a map per call)
	// on the path every blocking query takes.
	if server && f.router.IsLeader() {
		f.local.ServeHTTP(w, r)
		return
	}
	hop := hops(r)
	switch {
	case server && (isStale(r) || hop >= maxHops):
		f.local.ServeHTTP(w, r)
		return
	case server && strings.HasPrefix(r.URL.Path, "/v1/status/"):
		f.local.ServeHTTP(w, r) // every server knows the leader and peers
		return
	case server && isKVWrite(r):
		// The handler runs here; the server's store forwards only the
		// command to the leader (/rpc/apply), not the whole request.
		f.local.ServeHTTP(w, r)
		return
	}
	// A client sends to any server; that server forwards to its leader.
	pick := func() string { return randomOf(f.router.ServerAddrs()) }
	if server {
		pick = f.router.LeaderAddr
	}
	f.forward(w, r, pick, hop+1)
}

// randomOf picks one of addrs, or "" when there is none.
func randomOf(addrs []string) string {
	if len(addrs) == 0 {
		return ""
	}
	return addrs[rand.IntN(len(addrs))]
}

func (f *Forwarder) forward(w http.ResponseWriter, r *http.Request, pick func() string, hop int) {
	var body []byte
	// Unknown length (chunked, as consul/api sends snapshot restores) is
	// streamed too: it may be large.
	streamed := r.ContentLength > maxBufferedBody || r.ContentLength < 0
	if !streamed && r.Body != nil {
		b, err := io.ReadAll(io.LimitReader(r.Body, maxBufferedBody+1))
		if err != nil {
			http.Error(w, "read request body: "+err.Error(), http.StatusBadRequest)
			return
		}
		if len(b) > maxBufferedBody {
			http.Error(w, "Request body too large", http.StatusRequestEntityTooLarge)
			return
		}
		body = b
	}
	deadline := time.Now().Add(f.client.LeaderWait)
	for {
		addr := pick()
		var resp *http.Response
		err := errNoTarget
		if addr != "" {
			resp, err = f.send(r, addr, body, streamed, hop)
		}
		if err == nil {
			copyResponse(w, resp)
			return
		}
		if r.Context().Err() != nil {
			// The client went away, or this agent is shutting down (the
			// HTTP server's base context): never leave a 200 with no body.
			http.Error(w, "request canceled: "+r.Context().Err().Error(), http.StatusInternalServerError)
			return
		}
		if streamed || !retryable(err) && !errors.Is(err, errNoTarget) || time.Now().After(deadline) {
			status, msg := http.StatusInternalServerError, "No cluster leader"
			if !retryable(err) && !errors.Is(err, errNoTarget) {
				msg = "rpc error: " + err.Error()
			}
			f.logger.Debug("forward failed", "path", r.URL.Path, "target", addr, "error", err)
			http.Error(w, msg, status)
			return
		}
		select {
		case <-r.Context().Done():
			http.Error(w, "request canceled: "+r.Context().Err().Error(), http.StatusInternalServerError)
			return
		case <-time.After(50 * time.Millisecond): // wait out an election
		}
	}
}

var errNoTarget = errors.New("no server to forward to")

func (f *Forwarder) send(r *http.Request, addr string, body []byte, streamed bool, hop int) (*http.Response, error) {
	var rd io.Reader
	if streamed {
		rd = r.Body
	} else if body != nil {
		rd = bytes.NewReader(body)
	}
	out, err := http.NewRequestWithContext(r.Context(), r.Method, "http://"+addr+r.URL.RequestURI(), rd)
	if err != nil {
		return nil, err
	}
	out.Header = r.Header.Clone()
	out.Header.Set(hopHeader, strconv.Itoa(hop))
	if !streamed {
		out.ContentLength = int64(len(body))
	} else {
		out.ContentLength = r.ContentLength
	}
	return f.client.hc.Do(out)
}

func copyResponse(w http.ResponseWriter, resp *http.Response) {
	defer resp.Body.Close()
	for k, vs := range resp.Header {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	w.WriteHeader(resp.StatusCode)
	_, _ = io.Copy(w, resp.Body)
}
