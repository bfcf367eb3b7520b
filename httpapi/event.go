package httpapi

import (
	"context"
	"io"
	"time"

	"github.com/minconsul/minconsul/structs"
)

// Events is the local agent's user events (/v1/event/*): fired over gossip
// and kept in a ring of recent ones.
type Events interface {
	FireEvent(ctx context.Context, e *structs.UserEvent) (*structs.UserEvent, error)
	// UserEvents lists the recent events, oldest first, and a channel
	// closed when the next one arrives.
	UserEvents() ([]*structs.UserEvent, <-chan struct{})
}

// maxEventPayload bounds what /v1/event/fire reads (gossip refuses events
// over 512 bytes anyway, with its own message).
const maxEventPayload = 64 << 10

// eventFire is PUT /v1/event/fire/<name>?node=&service=&tag=, the body
// being the payload.
func (s *Server) eventFire(q *request) error {
	if q.tail == "" {
		return badRequest("Missing name")
	}
	e := &structs.UserEvent{Name: q.tail, NodeFilter: q.query.Get("node"),
		ServiceFilter: q.query.Get("service"), TagFilter: q.query.Get("tag")}
	if q.r.Body != nil {
		body, err := io.ReadAll(io.LimitReader(q.r.Body, maxEventPayload+1))
		if err != nil {
			return badRequest("Request decode failed: " + err.Error())
		}
		if len(body) > maxEventPayload {
			return &httpError{code: 413, msg: "Request body too large"}
		}
		if len(body) > 0 {
			e.Payload = body
		}
	}
	fired, err := s.cfg.Events.FireEvent(q.r.Context(), e)
	if err != nil {
		return err
	}
	return writeJSON(q, fired)
}

// eventList is GET /v1/event/list?name=. It blocks as Consul's does: the
// index is derived from the last event's ID (not monotonic), so with
// ?index it waits while the answer's index equals the client's.
func (s *Server) eventList(q *request) error {
	opts, err := parseQueryOptions(q.query)
	if err != nil {
		return err
	}
	name := q.query.Get("name")
	var timeout <-chan time.Time
	if opts.MinIndex > 0 {
		wait := opts.MaxWait
		if wait <= 0 || wait > structs.MaxQueryWait {
			wait = structs.MaxQueryWait
		}
		t := time.NewTimer(wait)
		defer t.Stop()
		timeout = t.C
	}
	for {
		all, changed := s.cfg.Events.UserEvents()
		events := make([]*structs.UserEvent, 0, len(all))
		for _, e := range all {
			if name == "" || e.Name == name {
				events = append(events, e)
			}
		}
		index := uint64(1)
		if len(events) > 0 {
			if i := structs.EventIndex(events[len(events)-1].ID); i != 0 {
				index = i
			}
		}
		if opts.MinIndex == 0 || index != opts.MinIndex {
			setIndex(q.w.Header(), index)
			return writeJSON(q, events)
		}
		select {
		case <-changed:
		case <-timeout:
			setIndex(q.w.Header(), index)
			return writeJSON(q, events)
		case <-q.r.Context().Done():
			return q.r.Context().Err()
		}
	}
}
