package httpapi

import "net/http"

// SetHandler replaces what Serve answers with, e.g. the agent's forwarding
// wrapper around Handler(). Call before Serve.
func (s *Server) SetHandler(h http.Handler) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.outer = h
}

func (s *Server) serveHandler() http.Handler {
	if s.outer != nil {
		return s.outer
	}
	return s
}
