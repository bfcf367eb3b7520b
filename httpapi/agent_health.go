package httpapi

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/minconsul/minconsul/structs"
)

// Maintenance mode and the agent's local health endpoints
// (/v1/agent/maintenance, /v1/agent/service/maintenance/<id>,
// /v1/agent/health/service/id/<id> and /name/<name>).

// enableParam reads the required ?enable of the maintenance endpoints.
func enableParam(q *request) (bool, error) {
	if !q.has("enable") {
		return false, badRequest("Missing value for enable")
	}
	raw := q.query.Get("enable")
	on, err := strconv.ParseBool(raw)
	if err != nil {
		return false, badRequest(fmt.Sprintf("Invalid value for enable: %q", raw))
	}
	return on, nil
}

func (s *Server) agentNodeMaintenance(q *request) error {
	on, err := enableParam(q)
	if err != nil {
		return err
	}
	if on {
		s.agent.EnableNodeMaintenance(q.r.Context(), q.query.Get("reason"))
	} else {
		s.agent.DisableNodeMaintenance(q.r.Context())
	}
	return nil
}

func (s *Server) agentServiceMaintenance(q *request) error {
	if q.tail == "" {
		return badRequest("Missing service ID")
	}
	on, err := enableParam(q)
	if err != nil {
		return err
	}
	if on {
		err = s.agent.EnableServiceMaintenance(q.r.Context(), q.tail, q.query.Get("reason"))
	} else {
		err = s.agent.DisableServiceMaintenance(q.r.Context(), q.tail)
	}
	if err != nil {
		return fmt.Errorf("service maintenance %q: %w", q.tail, err)
	}
	return nil
}

// healthCode is Consul's status code for an aggregated status: passing
// 200, warning 429, critical 503.
func healthCode(status string) int {
	switch status {
	case structs.HealthPassing:
		return http.StatusOK
	case structs.HealthWarning:
		return http.StatusTooManyRequests
	}
	return http.StatusServiceUnavailable
}

// wantsText is Consul's choice of a plain-text answer: ?format=text, or an
// Accept header asking for text/plain.
func wantsText(q *request) bool {
	if f := q.query.Get("format"); f != "" {
		return f == "text"
	}
	return strings.HasPrefix(q.r.Header.Get("Accept"), "text/plain")
}

// writeHealth answers with code: the status word as text, or v as JSON.
func writeHealth(q *request, code int, text string, v any) error {
	if wantsText(q) {
		q.w.Header().Set(hdrContentType, "text/plain")
		q.w.WriteHeader(code)
		_, _ = q.w.Write([]byte(text))
		return nil
	}
	q.w.Header()[hdrContentType] = jsonContentType
	q.w.WriteHeader(code)
	return writeJSON(q, v)
}

func healthView(h *structs.AgentServiceChecksInfo) *structs.AgentServiceChecksInfo {
	c := *h
	c.Service = agentServiceView(h.Service)
	c.Checks = checksWithTags(h.Checks)
	return &c
}

func (s *Server) agentHealthServiceByID(q *request) error {
	if q.tail == "" {
		return badRequest("Missing serviceID")
	}
	h := s.agent.ServiceHealthByID(q.tail)
	if h == nil {
		msg := fmt.Sprintf("ServiceId %s not found", q.tail)
		return writeHealth(q, http.StatusNotFound, msg, &structs.AgentServiceChecksInfo{AggregatedStatus: structs.HealthCritical})
	}
	return writeHealth(q, healthCode(h.AggregatedStatus), h.AggregatedStatus, healthView(h))
}

func (s *Server) agentHealthServiceByName(q *request) error {
	if q.tail == "" {
		return badRequest("Missing service Name")
	}
	code, status := http.StatusNotFound, fmt.Sprintf("ServiceName %s Not Found", q.tail)
	out := []*structs.AgentServiceChecksInfo{}
	for _, h := range s.agent.ServiceHealthByName(q.tail) {
		out = append(out, healthView(h))
		// The worst instance decides: 200 < 429 < 503.
		if c := healthCode(h.AggregatedStatus); code == http.StatusNotFound || c > code {
			code, status = c, h.AggregatedStatus
		}
	}
	return writeHealth(q, code, status, out)
}

// maintenanceAgent is what the handlers above need of the agent.
type maintenanceAgent interface {
	EnableNodeMaintenance(ctx context.Context, reason string)
	DisableNodeMaintenance(ctx context.Context)
	EnableServiceMaintenance(ctx context.Context, id, reason string) error
	DisableServiceMaintenance(ctx context.Context, id string) error
	ServiceHealthByID(id string) *structs.AgentServiceChecksInfo
	ServiceHealthByName(name string) []*structs.AgentServiceChecksInfo
}
