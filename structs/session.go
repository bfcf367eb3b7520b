package structs

import "time"

// Session behaviours: what happens to the keys a session holds when it is
// invalidated.
const (
	SessionKeysRelease = "release"
	SessionKeysDelete  = "delete"
)

// Session limits, as Consul's defaults.
const (
	SessionTTLMin = 10 * time.Second
	SessionTTLMax = 24 * time.Hour
	// SessionTTLMultiplier is Consul's grace: the leader's timer runs this
	// many TTLs before it invalidates an unrenewed session.
	SessionTTLMultiplier = 2
	DefaultLockDelay     = 15 * time.Second
	// MaxLockDelay caps the lock delay applied on invalidation.
	MaxLockDelay = 60 * time.Second
)

// ServiceCheck names a service check a session depends on.
type ServiceCheck struct {
	ID        string
	Namespace string
}

// Session is one session as Consul serves it on /v1/session. A session is
// invalidated when its node goes away or one of its checks goes critical;
// a TTL session also when it is not renewed in time.
type Session struct {
	ID            string
	Name          string
	Node          string
	LockDelay     time.Duration
	Behavior      string
	TTL           string
	NodeChecks    []string
	ServiceChecks []ServiceCheck
	CreateIndex   uint64
	ModifyIndex   uint64
}

// Sessions is a list of sessions.
type Sessions []*Session

// CheckIDs lists every check the session depends on.
func (s *Session) CheckIDs() []string {
	ids := make([]string, 0, len(s.NodeChecks)+len(s.ServiceChecks))
	ids = append(ids, s.NodeChecks...)
	for _, c := range s.ServiceChecks {
		ids = append(ids, c.ID)
	}
	return ids
}

// TTLDuration is the parsed TTL (0 when none or unparseable; validated
// before the session is written).
func (s *Session) TTLDuration() time.Duration {
	if s.TTL == "" {
		return 0
	}
	d, err := time.ParseDuration(s.TTL)
	if err != nil {
		return 0
	}
	return d
}

// SessionRequest names one session (info, renew).
type SessionRequest struct {
	SessionID string
	QueryOptions
}
