package rpc

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/minconsul/minconsul/structs"
)

// Handler runs the calls a server receives: method with its encoded
// argument, hop servers into its journey. It returns the answer to encode
// or an error to send back as a value.
type Handler interface {
	ServeRPC(ctx context.Context, method string, hop int, args []byte) (any, error)
}

// maxArgs bounds a call's argument: a snapshot restore carries the whole
// archive (at most 1 GiB, as the restore itself reads).
const maxArgs = 1<<30 + 1<<20

// readBody reads a call's argument or answer: in one exactly sized read
// when its length is known (it always is for the small ones), else up to
// limit.
func readBody(r io.Reader, n, limit int64) ([]byte, error) {
	if n < 0 || n > limit {
		return io.ReadAll(io.LimitReader(r, limit))
	}
	b := make([]byte, n)
	_, err := io.ReadFull(r, b)
	return b, err
}

// Server answers calls on the RPC side of the server-port mux.
type Server struct {
	h   Handler
	srv *http.Server
}

// NewServer serves h.
func NewServer(h Handler, logger hclog.Logger) *Server {
	s := &Server{h: h}
	s.srv = &http.Server{Handler: http.HandlerFunc(s.serve), ReadHeaderTimeout: 10 * time.Second,
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

// Shutdown stops the server, cutting the blocking queries it still runs
// when ctx ends.
func (s *Server) Shutdown(ctx context.Context) error {
	err := s.srv.Shutdown(ctx)
	if err != nil {
		s.srv.Close()
	}
	return err
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	method, ok := strings.CutPrefix(r.URL.Path, "/rpc/")
	if r.Method != http.MethodPost || !ok {
		http.NotFound(w, r)
		return
	}
	var body []byte
	args, err := readBody(r.Body, r.ContentLength, maxArgs)
	if err == nil {
		hop, _ := strconv.Atoi(r.Header.Get(hopHeader))
		var reply any
		if reply, err = s.h.ServeRPC(r.Context(), method, hop, args); err == nil {
			body, err = structs.Encode(reply)
		}
	}
	h := w.Header()
	if err != nil {
		kind, msg := EncodeError(err)
		h.Set(errHeader, kind)
		body = []byte(msg)
	}
	h.Set("Content-Type", "application/msgpack")
	_, _ = w.Write(body)
}
