package raftstore

import (
	"fmt"
	"strings"
	"time"

	"github.com/hashicorp/go-memdb"
	"github.com/minconsul/minconsul/structs"
)

// Sessions live in the replicated state; everything that ends one (a
// destroy, its node leaving the catalog, one of its checks going critical
// or away) runs inside the write transaction that caused it, so every
// server invalidates the same sessions at the same index. Only the lock
// delay (wall clock) and the TTL timers (leader only, timers.go) are local.

// sessionCreateTxn writes a new session after checking, as Consul does,
// that its node is registered and none of its checks is missing or
// critical. The ID was chosen by the writer (a UUID).
func sessionCreateTxn(tx *memdb.Txn, idx uint64, in *structs.Session) error {
	if in.ID == "" {
		return structs.Refused("Missing session ID")
	}
	switch in.Behavior {
	case "":
		in.Behavior = structs.SessionKeysRelease
	case structs.SessionKeysRelease, structs.SessionKeysDelete:
	default:
		return structs.Refused("Invalid session behavior: " + in.Behavior)
	}
	if old, err := tx.First(tableSessions, "id", in.ID); err != nil {
		return structs.Refused(fmt.Sprintf("failed session lookup: %s", err))
	} else if old != nil {
		return structs.Refused(fmt.Sprintf("session %q already exists", in.ID))
	}
	raw, err := tx.First(tableNodes, "id", in.Node)
	if err != nil {
		return fmt.Errorf("failed node lookup: %s", err)
	}
	if raw == nil {
		return structs.Refused("Missing node registration")
	}
	sess := *in
	sess.Node = raw.(*structs.Node).Node
	for _, id := range sess.CheckIDs() {
		c, err := tx.First(tableChecks, "id", sess.Node, id)
		if err != nil {
			return fmt.Errorf("failed check lookup: %s", err)
		}
		if c == nil {
			return structs.Refused(fmt.Sprintf("Missing check '%s' registration", id))
		}
		if st := c.(*structs.HealthCheck).Status; st == structs.HealthCritical {
			return structs.Refused(fmt.Sprintf("Check '%s' is in %s state", id, st))
		}
	}
	sess.CreateIndex, sess.ModifyIndex = idx, idx
	if err := tx.Insert(tableSessions, &sess); err != nil {
		return fmt.Errorf("failed inserting session: %s", err)
	}
	return setIndexTxn(tx, tableSessions, idx)
}

// deleteSessionTxn ends a session (a destroy or an invalidation): the keys
// it holds are released or deleted as its Behavior says, each under a lock
// delay. A missing session is not an error (destroy is idempotent).
func deleteSessionTxn(tx *memdb.Txn, idx uint64, id string) error {
	raw, err := tx.First(tableSessions, "id", id)
	if err != nil {
		return structs.Refused(fmt.Sprintf("failed session lookup: %s", err))
	}
	if raw == nil {
		return nil
	}
	sess := raw.(*structs.Session)
	if err := tx.Delete(tableSessions, sess); err != nil {
		return fmt.Errorf("failed deleting session: %v", err)
	}
	if err := setIndexTxn(tx, tableSessions, idx); err != nil {
		return err
	}
	it, err := tx.Get(tableKVs, "session", id)
	if err != nil {
		return fmt.Errorf("failed kvs lookup: %s", err)
	}
	var held []*structs.DirEntry
	for r := it.Next(); r != nil; r = it.Next() {
		held = append(held, r.(*structs.DirEntry))
	}
	delay := min(sess.LockDelay, structs.MaxLockDelay)
	expires := time.Now().Add(delay)
	for _, e := range held {
		if sess.Behavior == structs.SessionKeysDelete {
			if err := kvDeleteTxn(tx, idx, e.Key); err != nil {
				return fmt.Errorf("failed kvs delete: %s", err)
			}
		} else {
			c := e.Clone()
			c.Session, c.ModifyIndex = "", idx
			if err := tx.Insert(tableKVs, c); err != nil {
				return fmt.Errorf("failed kvs update: %s", err)
			}
			if err := setIndexTxn(tx, tableKVs, idx); err != nil {
				return err
			}
		}
		if delay > 0 {
			if err := tx.Insert(tableLockDelays, &lockDelay{Key: e.Key, Expires: expires}); err != nil {
				return err
			}
		}
	}
	return nil
}

// invalidateNodeSessionsTxn ends every session of a node leaving the catalog.
func invalidateNodeSessionsTxn(tx *memdb.Txn, idx uint64, node string) error {
	return invalidateSessionsTxn(tx, idx, node, func(*structs.Session) bool { return true })
}

// invalidateCheckSessionsTxn ends the node's sessions that depend on a
// check that went critical or was removed.
func invalidateCheckSessionsTxn(tx *memdb.Txn, idx uint64, node, checkID string) error {
	return invalidateSessionsTxn(tx, idx, node, func(s *structs.Session) bool {
		for _, id := range s.CheckIDs() {
			if strings.EqualFold(id, checkID) {
				return true
			}
		}
		return false
	})
}

func invalidateSessionsTxn(tx *memdb.Txn, idx uint64, node string, match func(*structs.Session) bool) error {
	it, err := tx.Get(tableSessions, "node", node)
	if err != nil {
		return fmt.Errorf("failed session lookup: %s", err)
	}
	var ids []string
	for r := it.Next(); r != nil; r = it.Next() {
		if s := r.(*structs.Session); match(s) {
			ids = append(ids, s.ID)
		}
	}
	for _, id := range ids {
		if err := deleteSessionTxn(tx, idx, id); err != nil {
			return err
		}
	}
	return nil
}

// SessionInfo answers the session req names as a list of zero or one
// (Consul's shape), at the sessions table's index.
func (s *StateStore) SessionInfo(ws memdb.WatchSet, req *structs.SessionRequest) (uint64, structs.Sessions, error) {
	tx := s.db.Txn(false)
	defer tx.Abort()
	idx := maxIndexWatchTxn(tx, ws, tableSessions)
	sess, err := sessionGetTxn(tx, req.SessionID)
	if err != nil || sess == nil {
		return idx, nil, err
	}
	return idx, structs.Sessions{sess}, nil
}

func sessionGetTxn(tx *memdb.Txn, id string) (*structs.Session, error) {
	raw, err := tx.First(tableSessions, "id", id)
	if err != nil {
		return nil, structs.Refused(fmt.Sprintf("failed session lookup: %s", err))
	}
	if raw == nil {
		return nil, nil
	}
	return raw.(*structs.Session), nil
}

// SessionList answers every session.
func (s *StateStore) SessionList(ws memdb.WatchSet, _ *structs.DCSpecificRequest) (uint64, structs.Sessions, error) {
	tx := s.db.Txn(false)
	defer tx.Abort()
	it, err := tx.Get(tableSessions, "id")
	if err != nil {
		return 0, nil, fmt.Errorf("failed session lookup: %s", err)
	}
	ws.Add(it.WatchCh())
	var out structs.Sessions
	for r := it.Next(); r != nil; r = it.Next() {
		out = append(out, r.(*structs.Session))
	}
	return maxIndexTxn(tx, tableSessions), out, nil
}

// NodeSessions answers the sessions of one node.
func (s *StateStore) NodeSessions(ws memdb.WatchSet, req *structs.NodeSpecificRequest) (uint64, structs.Sessions, error) {
	tx := s.db.Txn(false)
	defer tx.Abort()
	it, err := tx.Get(tableSessions, "node", req.Node)
	if err != nil {
		return 0, nil, fmt.Errorf("failed session lookup: %s", err)
	}
	ws.Add(it.WatchCh())
	var out structs.Sessions
	for r := it.Next(); r != nil; r = it.Next() {
		out = append(out, r.(*structs.Session))
	}
	return maxIndexTxn(tx, tableSessions), out, nil
}

// ttlSessions lists the sessions that have a TTL (a new leader arms their
// timers from this).
func (s *StateStore) ttlSessions() []*structs.Session {
	tx := s.db.Txn(false)
	defer tx.Abort()
	it, err := tx.Get(tableSessions, "id")
	if err != nil {
		return nil
	}
	var out []*structs.Session
	for r := it.Next(); r != nil; r = it.Next() {
		if sess := r.(*structs.Session); sess.TTLDuration() > 0 {
			out = append(out, sess)
		}
	}
	return out
}

// sessionExists reports whether a session is still in the state.
func (s *StateStore) sessionExists(id string) bool {
	tx := s.db.Txn(false)
	defer tx.Abort()
	sess, err := sessionGetTxn(tx, id)
	return err == nil && sess != nil
}

// KVLockDelay is when the lock delay on key ends (zero when none): until
// then the leader refuses to lock it.
func (s *StateStore) KVLockDelay(key string) time.Time {
	tx := s.db.Txn(false)
	defer tx.Abort()
	raw, err := tx.First(tableLockDelays, "id", key)
	if err != nil || raw == nil {
		return time.Time{}
	}
	return raw.(*lockDelay).Expires
}

// kvLockTxn writes the entry and takes its lock for in.Session: false when
// another session holds it. Holding it already keeps LockIndex; a new
// holder increments it.
func kvLockTxn(tx *memdb.Txn, idx uint64, in *structs.DirEntry) (bool, error) {
	if in.Session == "" {
		return false, structs.Refused("missing session")
	}
	sess, err := sessionGetTxn(tx, in.Session)
	if err != nil {
		return false, err
	}
	if sess == nil {
		return false, structs.Refused(fmt.Sprintf("invalid session %q", in.Session))
	}
	raw, err := tx.First(tableKVs, "id", in.Key)
	if err != nil {
		return false, err
	}
	e := &structs.DirEntry{Key: in.Key, Flags: in.Flags, Value: in.Value, Session: in.Session,
		LockIndex: 1, CreateIndex: idx, ModifyIndex: idx}
	if raw != nil {
		old := raw.(*structs.DirEntry)
		switch old.Session {
		case in.Session:
			e.LockIndex = old.LockIndex
		case "":
			e.LockIndex = old.LockIndex + 1
		default:
			return false, nil
		}
		e.CreateIndex = old.CreateIndex
	}
	if err := kvPutTxn(tx, idx, e); err != nil {
		return false, err
	}
	// The delay has passed (the leader checked before proposing).
	if d, err := tx.First(tableLockDelays, "id", in.Key); err == nil && d != nil {
		if err := tx.Delete(tableLockDelays, d); err != nil {
			return false, err
		}
	}
	return true, nil
}

// kvUnlockTxn writes the entry and releases the lock in.Session holds:
// false when the key is missing or not held by that session.
func kvUnlockTxn(tx *memdb.Txn, idx uint64, in *structs.DirEntry) (bool, error) {
	if in.Session == "" {
		return false, structs.Refused("missing session")
	}
	raw, err := tx.First(tableKVs, "id", in.Key)
	if err != nil {
		return false, err
	}
	if raw == nil {
		return false, nil
	}
	old := raw.(*structs.DirEntry)
	if old.Session != in.Session {
		return false, nil
	}
	e := &structs.DirEntry{Key: in.Key, Flags: in.Flags, Value: in.Value, LockIndex: old.LockIndex,
		CreateIndex: old.CreateIndex, ModifyIndex: idx}
	return true, kvPutTxn(tx, idx, e)
}
