package structs

import (
	"errors"
	"time"
)

// Consistency is a read's mode: the default (answered by the leader after
// it confirms leadership), ?consistent (same, always verified), or ?stale
// (any server, from local state).
type Consistency uint8

const (
	ConsistencyDefault Consistency = iota
	ConsistencyConsistent
	ConsistencyStale
)

// Blocking query limits, as Consul.
const (
	DefaultQueryWait = 5 * time.Minute
	MaxQueryWait     = 10 * time.Minute
)

// QueryOptions are the parsed ?index, ?wait and consistency parameters.
// Filter is Consul's ?filter expression; it is carried but not applied yet.
type QueryOptions struct {
	MinIndex    uint64
	MaxWait     time.Duration
	Consistency Consistency
	Filter      string
}

// QueryMeta is what a read reports back in X-Consul-* headers.
type QueryMeta struct {
	Index       uint64
	KnownLeader bool
	LastContact time.Duration
}

// Sentinel errors; httpapi maps them to status codes, dnsserver to rcodes.
var (
	ErrNotFound   = errors.New("not found")
	ErrNoLeader   = errors.New("No cluster leader")
	ErrNotLeader  = errors.New("node is not the leader")
	ErrBadRequest = errors.New("bad request")
	ErrShutdown   = errors.New("shutting down")
	ErrTooLarge   = errors.New("request too large")
	// ErrNoServers: a client agent knows no server to send a call to.
	ErrNoServers = errors.New("No known Consul servers")
	// ErrRefused is a write the state refuses as Consul's server does
	// (unknown session, missing node or check): 500 with the message.
	ErrRefused = errors.New("refused")
)

// Refused wraps a message so that httpapi answers 500 with it, and the
// FSM does not log it as its own failure.
func Refused(msg string) error { return &Error{Kind: ErrRefused, Msg: msg} }

// BadRequest wraps a message so that httpapi answers 400 with it.
func BadRequest(msg string) error { return &Error{Kind: ErrBadRequest, Msg: msg} }

// NotFound wraps a message so that httpapi answers 404 with it.
func NotFound(msg string) error { return &Error{Kind: ErrNotFound, Msg: msg} }

// Error is an error with a kind (one of the sentinels) and the exact
// message a client should see.
type Error struct {
	Kind error
	Msg  string
}

func (e *Error) Error() string { return e.Msg }

// Unwrap lets errors.Is match the kind.
func (e *Error) Unwrap() error { return e.Kind }
