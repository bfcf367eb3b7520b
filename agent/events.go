package agent

import (
	"context"
	"regexp"
	"sync"

	"github.com/minconsul/minconsul/structs"
)

// eventRingSize is how many recent user events an agent keeps (Consul
// keeps 256).
const eventRingSize = 256

// eventRing is the agent's recent user events, oldest first, and a
// channel closed at the next one (a blocking /v1/event/list waits on it).
type eventRing struct {
	mu      sync.Mutex
	buf     [eventRingSize]*structs.UserEvent
	next    int // where the next event goes
	full    bool
	changed chan struct{}
}

func (r *eventRing) add(e *structs.UserEvent) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.buf[r.next] = e
	r.next = (r.next + 1) % eventRingSize
	if r.next == 0 {
		r.full = true
	}
	if r.changed != nil {
		close(r.changed)
		r.changed = nil
	}
}

func (r *eventRing) list() ([]*structs.UserEvent, <-chan struct{}) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.changed == nil {
		r.changed = make(chan struct{})
	}
	var out []*structs.UserEvent
	if r.full {
		out = make([]*structs.UserEvent, 0, eventRingSize)
		out = append(out, r.buf[r.next:]...)
	}
	out = append(out, r.buf[:r.next]...)
	return out, r.changed
}

// FireEvent validates an event, gives it its ID and version, and gossips
// it to every agent (this one included); it answers the event as fired.
func (a *Agent) FireEvent(ctx context.Context, e *structs.UserEvent) (*structs.UserEvent, error) {
	if err := e.Validate(); err != nil {
		return nil, err
	}
	id, err := structs.NewEventID()
	if err != nil {
		return nil, err
	}
	e.ID, e.Version = id, structs.UserEventVersion
	payload, err := structs.Encode(e)
	if err != nil {
		return nil, err
	}
	if err := a.members.FireUserEvent(e.Name, payload); err != nil {
		return nil, err
	}
	return e, nil
}

// UserEvents lists the recent events this agent received (oldest first)
// and a channel closed when the next one arrives.
func (a *Agent) UserEvents() ([]*structs.UserEvent, <-chan struct{}) {
	return a.events.list()
}

// onUserEvent keeps an event gossip delivered if it passes the event's
// node, service and tag filters here.
func (a *Agent) onUserEvent(payload []byte, ltime uint64) {
	e := new(structs.UserEvent)
	if err := structs.Decode(payload, e); err != nil {
		a.logger.Error("failed to decode event", "error", err)
		return
	}
	e.LTime = ltime
	if e.Version > structs.UserEventVersion {
		a.logger.Warn("event version may have unsupported features", "version", e.Version, "event", e.Name)
	}
	if !a.eventMatches(e) {
		return
	}
	a.logger.Debug("new event", "event", e.Name, "id", e.ID)
	a.events.add(e)
}

// eventMatches applies an event's filters: the node name must match
// NodeFilter, and some local service's name ServiceFilter (with one of its
// tags matching TagFilter, if given).
func (a *Agent) eventMatches(e *structs.UserEvent) bool {
	if e.NodeFilter != "" {
		re, err := regexp.Compile(e.NodeFilter)
		if err != nil || !re.MatchString(a.cfg.NodeName) {
			return false
		}
	}
	if e.ServiceFilter == "" {
		return true
	}
	svcRe, err := regexp.Compile(e.ServiceFilter)
	if err != nil {
		return false
	}
	var tagRe *regexp.Regexp
	if e.TagFilter != "" {
		if tagRe, err = regexp.Compile(e.TagFilter); err != nil {
			return false
		}
	}
	for _, svc := range a.local.Services() {
		if !svcRe.MatchString(svc.Service) {
			continue
		}
		if tagRe == nil {
			return true
		}
		for _, t := range svc.Tags {
			if tagRe.MatchString(t) {
				return true
			}
		}
	}
	return false
}
