package httpapi

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/minconsul/minconsul/structs"
)

// httpError is an error that already knows its status code and the exact
// body Consul answers with (Consul's HTTPError: the body is the reason alone).
type httpError struct {
	code int
	msg  string
}

func (e *httpError) Error() string { return e.msg }

func badRequest(msg string) error { return &httpError{code: http.StatusBadRequest, msg: msg} }

// methodNotAllowedError carries the Allow list for the 405 answer.
type methodNotAllowedError struct {
	method string
	allow  string
}

func (e *methodNotAllowedError) Error() string { return "method " + e.method + " not allowed" }

// errorStatus is the one place that turns an error into Consul's status code
// and body text.
func errorStatus(err error) (int, string) {
	var he *httpError
	if errors.As(err, &he) {
		return he.code, he.msg
	}
	var mna *methodNotAllowedError
	if errors.As(err, &mna) {
		return http.StatusMethodNotAllowed, mna.Error()
	}
	msg := err.Error()
	var se *structs.Error
	if errors.As(err, &se) {
		msg = se.Msg
	}
	switch {
	case errors.Is(err, structs.ErrNoLeader):
		return http.StatusInternalServerError, structs.ErrNoLeader.Error()
	case errors.Is(err, structs.ErrNoServers):
		return http.StatusInternalServerError, structs.ErrNoServers.Error()
	case errors.Is(err, structs.ErrNotLeader):
		return http.StatusInternalServerError, msg
	case errors.Is(err, structs.ErrBadRequest):
		return http.StatusBadRequest, msg
	case errors.Is(err, structs.ErrNotFound):
		return http.StatusNotFound, msg
	case errors.Is(err, structs.ErrTooLarge):
		return http.StatusRequestEntityTooLarge, msg
	}
	return http.StatusInternalServerError, msg
}

// writeError answers err. Like Consul, the body is plain text without a
// trailing newline.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, context.Canceled) && r.Context().Err() != nil {
		// The client went away, or this agent is shutting down (the base
		// context): answer 500 rather than an empty 200, which a client
		// would take for success. A departed client never reads it.
		http.Error(w, "request canceled: "+err.Error(), http.StatusInternalServerError)
		return
	}
	code, msg := errorStatus(err)
	var mna *methodNotAllowedError
	if errors.As(err, &mna) {
		w.Header().Set("Allow", mna.allow)
	}
	switch {
	case errors.Is(err, structs.ErrNoLeader) || errors.Is(err, structs.ErrNotLeader):
		// Transient during elections; clients retry.
		s.logger.Warn("request failed", "method", r.Method, "path", r.URL.Path, "error", err)
	case code >= 500:
		s.logger.Error("request failed", "method", r.Method, "path", r.URL.Path, "error", err)
	case s.logger.IsDebug():
		s.logger.Debug("request rejected", "method", r.Method, "path", r.URL.Path, "status", code, "error", msg)
	}
	h := w.Header()
	if strings.TrimSpace(msg) != "" {
		h["Content-Type"] = textPlainUTF8
	}
	w.WriteHeader(code)
	_, _ = w.Write([]byte(msg))
}

var textPlainUTF8 = []string{"text/plain; charset=utf-8"}
