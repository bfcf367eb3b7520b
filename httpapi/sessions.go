package httpapi

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/minconsul/minconsul/structs"
)

// Sessions: /v1/session/create|destroy/<id>|renew/<id> (PUT) and
// /v1/session/info/<id>|node/<node>|list (GET, blocking). What Consul's
// server refuses (TTL range, Behavior, unknown node or critical check)
// answers 500 with Consul's message, as Consul's RPC errors do.

// sessionCreateBody is the create body. Checks, NodeChecks and
// ServiceChecks are pointers so that an explicit empty list (the api
// client's CreateNoChecks) drops the default serfHealth check.
type sessionCreateBody struct {
	Name          string
	Node          string
	LockDelay     json.RawMessage
	Behavior      string
	TTL           string
	Checks        *[]string
	NodeChecks    *[]string
	ServiceChecks *[]structs.ServiceCheck
}

// lockDelayThreshold: a numeric (or unit-less small) lock delay below this
// many nanoseconds means seconds, as Consul reads it ("LockDelay": 15).
const lockDelayThreshold = 1000

func parseLockDelay(raw json.RawMessage) (time.Duration, error) {
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return 0, err
	}
	var d time.Duration
	switch x := v.(type) {
	case nil:
		return structs.DefaultLockDelay, nil
	case string:
		var err error
		if d, err = time.ParseDuration(x); err != nil {
			return 0, err
		}
	case float64:
		d = time.Duration(x)
	default:
		return 0, fmt.Errorf("LockDelay: unexpected type %T", v)
	}
	if d < lockDelayThreshold {
		d *= time.Second
	}
	return d, nil
}

// decodeSessionCreate applies Consul's defaults (this agent's node, the
// serfHealth check, 15 s lock delay, release) and the body.
func (s *Server) decodeSessionCreate(r *http.Request) (*structs.Session, error) {
	sess := &structs.Session{Node: s.cfg.NodeName, NodeChecks: []string{structs.SerfCheckID},
		LockDelay: structs.DefaultLockDelay, Behavior: structs.SessionKeysRelease}
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		return nil, badRequest("Request decode failed: " + err.Error())
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return sess, nil
	}
	var in sessionCreateBody
	if err := json.Unmarshal(body, &in); err != nil {
		return nil, badRequest("Request decode failed: " + err.Error())
	}
	if len(in.LockDelay) > 0 {
		if sess.LockDelay, err = parseLockDelay(in.LockDelay); err != nil {
			return nil, badRequest("Request decode failed: " + err.Error())
		}
	}
	if in.Name != "" {
		sess.Name = in.Name
	}
	if in.Node != "" {
		sess.Node = in.Node
	}
	sess.Behavior, sess.TTL = in.Behavior, in.TTL
	if in.Checks != nil || in.NodeChecks != nil || in.ServiceChecks != nil {
		sess.NodeChecks = nil
		seen := map[string]bool{}
		for _, list := range []*[]string{in.Checks, in.NodeChecks} {
			if list == nil {
				continue
			}
			for _, c := range *list {
				if !seen[c] {
					seen[c] = true
					sess.NodeChecks = append(sess.NodeChecks, c)
				}
			}
		}
		if in.ServiceChecks != nil {
			sess.ServiceChecks = *in.ServiceChecks
		}
	}
	return sess, validateSession(sess)
}

// validateSession is what Consul's server checks before writing.
func validateSession(sess *structs.Session) error {
	if sess.Node == "" {
		return errors.New("Must provide Node")
	}
	switch sess.Behavior {
	case "":
		sess.Behavior = structs.SessionKeysRelease
	case structs.SessionKeysRelease, structs.SessionKeysDelete:
	default:
		return fmt.Errorf("Invalid Behavior setting '%s'", sess.Behavior)
	}
	if sess.TTL != "" {
		ttl, err := time.ParseDuration(sess.TTL)
		if err != nil {
			return fmt.Errorf("Session TTL '%s' invalid: %v", sess.TTL, err)
		}
		if ttl != 0 && (ttl < structs.SessionTTLMin || ttl > structs.SessionTTLMax) {
			return fmt.Errorf("Invalid Session TTL '%d', must be between [%v=%v]", ttl, structs.SessionTTLMin, structs.SessionTTLMax)
		}
	}
	return nil
}

// newUUID is a random (version 4) UUID, as Consul's session IDs.
func newUUID() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16]), nil
}

func (s *Server) sessionCreate(q *request) error {
	sess, err := s.decodeSessionCreate(q.r)
	if err != nil {
		return err
	}
	if sess.ID, err = newUUID(); err != nil {
		return err
	}
	idx, _, err := s.backend.Apply(q.r.Context(), structs.Command{Type: structs.SessionCreate, Session: sess})
	if err != nil {
		return err
	}
	setIndex(q.w.Header(), idx)
	return writeJSON(q, struct{ ID string }{sess.ID})
}

func (s *Server) sessionDestroy(q *request) error {
	if q.tail == "" {
		return badRequest("Missing session")
	}
	idx, _, err := s.backend.Apply(q.r.Context(), structs.Command{Type: structs.SessionDestroy, Session: &structs.Session{ID: q.tail}})
	if err != nil {
		return err
	}
	return writeBool(q, idx, true)
}

func (s *Server) sessionRenew(q *request) error {
	if q.tail == "" {
		return badRequest("Missing session")
	}
	res, err := s.backend.SessionRenew(q.r.Context(), &structs.SessionRequest{SessionID: q.tail})
	if err != nil {
		return err
	}
	if res.Value == nil {
		return &httpError{code: http.StatusNotFound, msg: "Session id '" + q.tail + "' not found"}
	}
	setMeta(q.w.Header(), &res.QueryMeta)
	return writeJSON(q, structs.Sessions{res.Value})
}

func (s *Server) sessionInfo(q *request) error {
	if q.tail == "" {
		return badRequest("Missing session")
	}
	out, _, err := read(s, q, &structs.SessionRequest{SessionID: q.tail}, s.backend.SessionInfo)
	if err != nil {
		return err
	}
	return writeSessions(q, out)
}

func (s *Server) sessionNode(q *request) error {
	if q.tail == "" {
		return badRequest("Missing node name")
	}
	out, _, err := read(s, q, &structs.NodeSpecificRequest{Node: q.tail}, s.backend.NodeSessions)
	if err != nil {
		return err
	}
	return writeSessions(q, out)
}

func (s *Server) sessionList(q *request) error {
	out, _, err := read(s, q, &structs.DCSpecificRequest{}, s.backend.SessionList)
	if err != nil {
		return err
	}
	return writeSessions(q, out)
}

// writeSessions answers a list, [] rather than null when empty.
func writeSessions(q *request, out structs.Sessions) error {
	if out == nil {
		out = structs.Sessions{}
	}
	return writeJSON(q, out)
}
