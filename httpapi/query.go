package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/minconsul/minconsul/structs"
)

// Canonical header keys, set straight into the header map on the hot path.
const (
	hdrIndex       = "X-Consul-Index"
	hdrKnownLeader = "X-Consul-Knownleader"
	hdrLastContact = "X-Consul-Lastcontact"
	hdrContentType = "Content-Type"
	hdrConsistency = "X-Consul-Effective-Consistency"
)

var (
	jsonContentType = []string{"application/json"}
	// Consul's X-Consul-Effective-Consistency values by mode.
	consistencyHeader = map[structs.Consistency][]string{
		structs.ConsistencyDefault:    {"leader"},
		structs.ConsistencyConsistent: {"consistent"},
		structs.ConsistencyStale:      {"stale"},
	}
	trueHeader  = []string{"true"}
	falseHeader = []string{"false"}
)

// parseQueryOptions reads ?stale/?consistent/?max_stale then ?wait and ?index, in
// Consul's order and with Consul's messages. ?wait needs a unit ("10s");
// a bare number is rejected, as Consul's time.ParseDuration does.
func parseQueryOptions(q url.Values) (structs.QueryOptions, error) {
	var opts structs.QueryOptions
	if q == nil {
		return opts, nil
	}
	_, stale := q["stale"]
	_, consistent := q["consistent"]
	if ms := q.Get("max_stale"); ms != "" {
		d, err := time.ParseDuration(ms)
		if err != nil {
			return opts, badRequest("Invalid max_stale value " + strconv.Quote(ms))
		}
		// A positive ?max_stale allows stale reads (Consul retries on the
		// leader when the answer is staler; one local state needs no retry).
		if d > 0 {
			stale = true
		}
	}
	switch {
	case stale && consistent:
		return opts, badRequest("Cannot specify ?stale with ?consistent, conflicting semantics.")
	case stale:
		opts.Consistency = structs.ConsistencyStale
	case consistent:
		opts.Consistency = structs.ConsistencyConsistent
	}
	if wait := q.Get("wait"); wait != "" {
		d, err := time.ParseDuration(wait)
		if err != nil {
			return opts, badRequest("Invalid wait time")
		}
		// Consul treats a non-positive wait as "use the default".
		if d > 0 {
			opts.MaxWait = d
		}
	}
	if idx := q.Get("index"); idx != "" {
		n, err := strconv.ParseUint(idx, 10, 64)
		if err != nil {
			return opts, badRequest("Invalid index")
		}
		opts.MinIndex = n
	}
	return opts, nil
}

// boolParam is Consul's getBoolQueryParam: absent is false, present without
// a value is true, otherwise strconv.ParseBool.
func boolParam(q url.Values, key string) (bool, error) {
	vs, ok := q[key]
	if !ok {
		return false, nil
	}
	if len(vs) == 0 || vs[0] == "" {
		return true, nil
	}
	return strconv.ParseBool(vs[0])
}

// parseMetaFilter reads repeated ?node-meta=key:value pairs (value may be
// empty, split at the first colon).
func parseMetaFilter(q url.Values) map[string]string {
	vs := q["node-meta"]
	if len(vs) == 0 {
		return nil
	}
	m := make(map[string]string, len(vs))
	for _, v := range vs {
		k, val, _ := strings.Cut(v, ":")
		m[k] = val
	}
	return m
}

// request is one parsed API call.
type request struct {
	w     http.ResponseWriter
	r     *http.Request
	query url.Values // nil when the URL has no query
	tail  string     // path after the route prefix (the key, name or ID)
}

func (q *request) has(key string) bool {
	_, ok := q.query[key]
	return ok
}

// read fills req's query options from ?index, ?wait and the consistency
// flags, runs it through fn (a backend read, which may block, here or on
// the server that owns the watch), sets the X-Consul-* headers from the
// answer's metadata and returns the value and that metadata. The request
// context bounds the wait, so a client that hangs up frees its watch at
// once.
func read[Q structs.QueryRequest, T any](s *Server, q *request, req Q, fn func(context.Context, Q) (*structs.Indexed[T], error)) (T, *structs.QueryMeta, error) {
	var zero T
	opts, err := parseQueryOptions(q.query)
	if err != nil {
		return zero, nil, err
	}
	*req.QueryOpts() = opts
	res, err := fn(q.r.Context(), req)
	if err != nil {
		return zero, nil, err
	}
	h := q.w.Header()
	setMeta(h, &res.QueryMeta)
	h[hdrConsistency] = consistencyHeader[opts.Consistency]
	return res.Value, &res.QueryMeta, nil
}

// checkDC rejects ?dc naming another datacenter on every endpoint taking
// ?dc (the one place it is checked): minconsul has no WAN.
func (s *Server) checkDC(rt *route, q *request) error {
	if !rt.dc {
		return nil
	}
	if dc := q.query.Get("dc"); dc != "" && dc != s.cfg.Datacenter {
		return &httpError{code: http.StatusInternalServerError, msg: "No path to datacenter"}
	}
	return nil
}

func setMeta(h http.Header, m *structs.QueryMeta) {
	idx := m.Index
	if idx == 0 {
		idx = 1
	}
	last := m.LastContact
	if last < 0 {
		last = 0
	}
	// One backing array for both values: every blocking answer sets them.
	vals := &[2]string{strconv.FormatUint(idx, 10), strconv.FormatUint(uint64(last/time.Millisecond), 10)}
	h[hdrIndex] = vals[0:1:1]
	h[hdrLastContact] = vals[1:2:2]
	if m.KnownLeader {
		h[hdrKnownLeader] = trueHeader
	} else {
		h[hdrKnownLeader] = falseHeader
	}
}

// setIndex never sends 0: a client blocking on ?index=0 would spin.
func setIndex(h http.Header, idx uint64) {
	if idx == 0 {
		idx = 1
	}
	h[hdrIndex] = []string{strconv.FormatUint(idx, 10)}
}

// writeJSON encodes v as Consul does: compact, or with ?pretty indented by
// four spaces and followed by a newline.
func writeJSON(q *request, v any) error {
	var (
		buf []byte
		err error
	)
	if q.has("pretty") {
		buf, err = json.MarshalIndent(v, "", "    ")
		buf = append(buf, '\n')
	} else {
		buf, err = json.Marshal(v)
	}
	if err != nil {
		return err
	}
	writeBody(q, buf)
	return nil
}

// writeBody sends already-encoded JSON.
func writeBody(q *request, buf []byte) {
	// net/http adds Content-Length itself for bodies that fit its buffer.
	q.w.Header()[hdrContentType] = jsonContentType
	_, _ = q.w.Write(buf)
}

// decodeBody decodes one JSON value from the body into out. Unknown fields
// are ignored (the api client sends Connect, Namespace, ... that minconsul
// does not model); type mismatches and syntax errors are 400s with Consul's
// "Request decode failed" prefix.
func decodeBody(body io.Reader, out any) error {
	if body == nil {
		return badRequest("Request decode failed: EOF")
	}
	// Registration bodies are bounded: one past the limit is refused
	// before anything is decoded, so nothing is written.
	buf, err := io.ReadAll(io.LimitReader(body, structs.MaxRegistrationBody+1))
	if err != nil {
		return badRequest("Request decode failed: " + err.Error())
	}
	if len(buf) > structs.MaxRegistrationBody {
		return &httpError{code: http.StatusRequestEntityTooLarge,
			msg: fmt.Sprintf("Request body too large, max size: %d bytes", structs.MaxRegistrationBody)}
	}
	if err := json.NewDecoder(bytes.NewReader(buf)).Decode(out); err != nil {
		return badRequest("Request decode failed: " + err.Error())
	}
	return nil
}
