package structs

import (
	"crypto/rand"
	"errors"
	"fmt"
	"regexp"
	"strconv"
)

// UserEvent is a user event as /v1/event/fire answers and /v1/event/list
// lists it (consul/api's UserEvent). It travels over serf's user events
// msgpack-encoded under the short codec names Consul's agents use.
type UserEvent struct {
	ID            string
	Name          string `codec:"n"`
	Payload       []byte `codec:"p,omitempty"`
	NodeFilter    string `codec:"nf,omitempty"`
	ServiceFilter string `codec:"sf,omitempty"`
	TagFilter     string `codec:"tf,omitempty"`
	Version       int    `codec:"v"`
	// LTime is serf's Lamport time of the event, set on receipt.
	LTime uint64 `codec:"-"`
}

// UserEventVersion is the event format version this agent writes.
const UserEventVersion = 1

// Validate checks an event before it is fired, with Consul's messages
// (which Consul answers with a 500, as any failure to fire).
func (e *UserEvent) Validate() error {
	if e.Name == "" {
		return errors.New("User event missing name")
	}
	if e.TagFilter != "" && e.ServiceFilter == "" {
		return errors.New("Cannot provide tag filter without service filter")
	}
	for _, f := range []struct{ what, re string }{{"node", e.NodeFilter}, {"service", e.ServiceFilter}, {"tag", e.TagFilter}} {
		if f.re == "" {
			continue
		}
		if _, err := regexp.Compile(f.re); err != nil {
			return fmt.Errorf("Invalid %s filter: %v", f.what, err)
		}
	}
	return nil
}

// NewEventID is a random UUID for a new event.
func NewEventID() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("event id: %w", err)
	}
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16]), nil
}

// EventIndex turns an event's UUID into the X-Consul-Index of an event
// list ending with it, as Consul does (and consul/api's IDToIndex): the
// high and low 64 bits of the UUID XORed. It is not monotonic, so a
// blocking list waits while the index equals the client's, not below it.
// A malformed ID gives 0.
func EventIndex(id string) uint64 {
	if len(id) != 36 {
		return 0
	}
	lo, err1 := strconv.ParseUint(id[0:8]+id[9:13]+id[14:18], 16, 64)
	hi, err2 := strconv.ParseUint(id[19:23]+id[24:36], 16, 64)
	if err1 != nil || err2 != nil {
		return 0
	}
	return lo ^ hi
}
