package httpapi

import "net/http"

// keyHTTP is Consul's per-request timer, labelled by method and path.
var keyHTTP = []string{"api", "http"}

// agentMetrics is GET /v1/agent/metrics: the in-memory sink's last interval
// as JSON, or with ?format=prometheus the Prometheus text exposition.
func (s *Server) agentMetrics(q *request) error {
	if q.query.Get("format") == "prometheus" {
		if s.cfg.Metrics != nil && !s.cfg.Metrics.PrometheusEnabled() {
			return &httpError{code: http.StatusUnsupportedMediaType,
				msg: "Prometheus is not enabled since its retention time is not positive"}
		}
		s.cfg.Metrics.WritePrometheus(q.w, q.r)
		return nil
	}
	sum, err := s.cfg.Metrics.Summary()
	if err != nil {
		return err
	}
	return writeJSON(q, sum)
}
