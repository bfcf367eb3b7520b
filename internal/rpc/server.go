package rpc

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-memdb"
	"github.com/minconsul/minconsul/structs"
)

// Store is what the RPC server needs from a server's raftstore.
type Store interface {
	Apply(ctx context.Context, cmd structs.Command) (uint64, any, error)
	Query(ctx context.Context, opts structs.QueryOptions, meta *structs.QueryMeta, fn func(ws memdb.WatchSet) (uint64, error)) error
	IsLeader() bool
	Leader() string
	KVGet(ws memdb.WatchSet, key string) (uint64, *structs.DirEntry, error)
	KVList(ws memdb.WatchSet, prefix string) (uint64, structs.DirEntries, error)
	KVKeys(ws memdb.WatchSet, prefix, separator string) (uint64, []string, error)
	Nodes(ws memdb.WatchSet) (uint64, structs.Nodes, error)
	GetNode(ws memdb.WatchSet, name string) (uint64, *structs.Node, error)
	Services(ws memdb.WatchSet) (uint64, map[string][]string, error)
	ServiceNodes(ws memdb.WatchSet, service string, tags []string) (uint64, structs.ServiceNodes, error)
	NodeServices(ws memdb.WatchSet, node string) (uint64, *structs.NodeServices, error)
	NodeChecks(ws memdb.WatchSet, node string) (uint64, structs.HealthChecks, error)
	ServiceChecks(ws memdb.WatchSet, service string) (uint64, structs.HealthChecks, error)
	ChecksInState(ws memdb.WatchSet, state string) (uint64, structs.HealthChecks, error)
	CheckServiceNodes(ws memdb.WatchSet, service string, tags []string) (uint64, structs.CheckServiceNodes, error)
	Peers() ([]string, error)
	RaftConfiguration() (*structs.RaftConfigurationResponse, error)
}

// applyResponse carries an Apply result back; errors travel as kind+text
// so the caller can rebuild the sentinel (httpapi maps it to a status).
type applyResponse struct {
	applyElem
	// Results answers a KVBatch command, one element per command.
	Results []applyElem `codec:",omitempty"`
}

// applyElem is one command's outcome: its index, its result (KV writes
// answer a bool) or its error.
type applyElem struct {
	Index   uint64
	Result  *bool
	ErrKind string
	ErrMsg  string
}

func newApplyElem(idx uint64, res any, err error) applyElem {
	e := applyElem{Index: idx}
	if b, ok := res.(bool); ok {
		e.Result = &b
	}
	e.ErrKind, e.ErrMsg = encodeErr(err)
	return e
}

// outcome is the inverse of newApplyElem.
func (e applyElem) outcome() (uint64, any, error) {
	if err := decodeErr(e.ErrKind, e.ErrMsg); err != nil {
		return e.Index, nil, err
	}
	if e.Result != nil {
		return e.Index, *e.Result, nil
	}
	return e.Index, nil, nil
}

// ReadRequest names one typed read to run on a server.
type ReadRequest struct {
	Method string
	Args   []string
	Opts   structs.QueryOptions
}

type readResponse struct {
	Meta    structs.QueryMeta
	Payload []byte
	ErrKind string
	ErrMsg  string
}

// Server answers internal RPCs and forwarded /v1 requests on the RPC side
// of the server-port mux.
type Server struct {
	store  Store
	v1     http.Handler
	client *Client
	logger hclog.Logger
	srv    *http.Server
}

// NewServer builds the RPC server. v1 serves forwarded /v1 requests (the
// agent's full HTTP handler, forwarding included).
func NewServer(store Store, v1 http.Handler, client *Client, logger hclog.Logger) *Server {
	s := &Server{store: store, v1: v1, client: client, logger: logger}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /rpc/apply", s.handleApply)
	mux.HandleFunc("POST /rpc/read", s.handleRead)
	mux.Handle("/v1/", v1)
	s.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second,
		ErrorLog: logger.StandardLogger(&hclog.StandardLoggerOptions{InferLevels: true})}
	return s
}

// Serve serves RPC connections from ln until Shutdown.
func (s *Server) Serve(ln net.Listener) error {
	if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// Shutdown stops the server, cutting blocked forwarded queries.
func (s *Server) Shutdown(ctx context.Context) error {
	err := s.srv.Shutdown(ctx)
	if err != nil {
		s.srv.Close()
	}
	return err
}

func (s *Server) handleApply(w http.ResponseWriter, r *http.Request) {
	var cmd structs.Command
	body, err := io.ReadAll(io.LimitReader(r.Body, 8<<20))
	if err == nil {
		err = structs.Decode(body, &cmd)
	}
	if err != nil {
		writeMsgpack(w, applyResponse{applyElem: applyElem{ErrKind: kindBadRequest, ErrMsg: "decode command: " + err.Error()}})
		return
	}
	var (
		idx uint64
		res any
	)
	if !s.store.IsLeader() && hops(r) < maxHops {
		// One more hop: this server is not (or no longer) the leader.
		idx, res, err = s.client.ApplyLeader(r.Context(), s.store.Leader, cmd, hops(r)+1)
	} else {
		idx, res, err = s.store.Apply(r.Context(), cmd)
	}
	out := applyResponse{applyElem: newApplyElem(idx, res, err)}
	if outs, ok := res.([]structs.BatchOutcome); ok {
		out.Results = make([]applyElem, len(outs))
		for i, o := range outs {
			out.Results[i] = newApplyElem(o.Index, o.Value, o.Err)
		}
	}
	writeMsgpack(w, out)
}

func (s *Server) handleRead(w http.ResponseWriter, r *http.Request) {
	var req ReadRequest
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err == nil {
		err = structs.Decode(body, &req)
	}
	if err != nil {
		writeMsgpack(w, readResponse{ErrKind: kindBadRequest, ErrMsg: "decode read: " + err.Error()})
		return
	}
	if req.Opts.Consistency != structs.ConsistencyStale && !s.store.IsLeader() && hops(r) < maxHops {
		var out readResponse
		if err := s.client.post(r.Context(), s.store.Leader(), "/rpc/read", req, &out, hops(r)+1); err != nil {
			out.ErrKind, out.ErrMsg = encodeErr(err)
		}
		writeMsgpack(w, out)
		return
	}
	var out readResponse
	var result any
	err = s.store.Query(r.Context(), req.Opts, &out.Meta, func(ws memdb.WatchSet) (uint64, error) {
		idx, v, err := s.dispatch(ws, req)
		result = v
		return idx, err
	})
	if err == nil {
		out.Payload, err = structs.Encode(result)
	}
	out.ErrKind, out.ErrMsg = encodeErr(err)
	writeMsgpack(w, out)
}

func arg(args []string, i int) string {
	if i < len(args) {
		return args[i]
	}
	return ""
}

func (s *Server) dispatch(ws memdb.WatchSet, req ReadRequest) (uint64, any, error) {
	a := req.Args
	switch req.Method {
	case "KVGet":
		return s.store.KVGet(ws, arg(a, 0))
	case "KVList":
		return s.store.KVList(ws, arg(a, 0))
	case "KVKeys":
		return s.store.KVKeys(ws, arg(a, 0), arg(a, 1))
	case "Nodes":
		return s.store.Nodes(ws)
	case "GetNode":
		return s.store.GetNode(ws, arg(a, 0))
	case "Services":
		return s.store.Services(ws)
	case "ServiceNodes":
		return s.store.ServiceNodes(ws, arg(a, 0), tail(a))
	case "NodeServices":
		return s.store.NodeServices(ws, arg(a, 0))
	case "NodeChecks":
		return s.store.NodeChecks(ws, arg(a, 0))
	case "ServiceChecks":
		return s.store.ServiceChecks(ws, arg(a, 0))
	case "ChecksInState":
		return s.store.ChecksInState(ws, arg(a, 0))
	case "CheckServiceNodes":
		return s.store.CheckServiceNodes(ws, arg(a, 0), tail(a))
	case "Peers":
		p, err := s.store.Peers()
		return 1, p, err
	case "RaftConfiguration":
		c, err := s.store.RaftConfiguration()
		return 1, c, err
	case "Leader":
		return 1, s.store.Leader(), nil
	}
	return 0, nil, structs.BadRequest(fmt.Sprintf("unknown read %q", req.Method))
}

func tail(a []string) []string {
	if len(a) <= 1 {
		return nil
	}
	return a[1:]
}

func writeMsgpack(w http.ResponseWriter, v any) {
	b, err := structs.Encode(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/msgpack")
	_, _ = io.Copy(w, bytes.NewReader(b))
}

// Error kinds on the wire.
const (
	kindBadRequest = "bad-request"
	kindNotFound   = "not-found"
	kindNoLeader   = "no-leader"
	kindNotLeader  = "not-leader"
	kindTooLarge   = "too-large"
	kindShutdown   = "shutdown"
	kindOther      = "other"
)

func encodeErr(err error) (string, string) {
	if err == nil {
		return "", ""
	}
	switch {
	case errors.Is(err, structs.ErrBadRequest):
		return kindBadRequest, err.Error()
	case errors.Is(err, structs.ErrNotFound):
		return kindNotFound, err.Error()
	case errors.Is(err, structs.ErrNoLeader):
		return kindNoLeader, err.Error()
	case errors.Is(err, structs.ErrNotLeader):
		return kindNotLeader, err.Error()
	case errors.Is(err, structs.ErrTooLarge):
		return kindTooLarge, err.Error()
	case errors.Is(err, structs.ErrShutdown):
		return kindShutdown, err.Error()
	}
	return kindOther, err.Error()
}

func decodeErr(kind, msg string) error {
	switch kind {
	case "":
		return nil
	case kindBadRequest:
		return structs.BadRequest(msg)
	case kindNotFound:
		return structs.NotFound(msg)
	case kindNoLeader:
		return structs.ErrNoLeader
	case kindNotLeader:
		return structs.ErrNotLeader
	case kindTooLarge:
		return &structs.Error{Kind: structs.ErrTooLarge, Msg: msg}
	case kindShutdown:
		return structs.ErrShutdown
	}
	return errors.New(msg)
}
