package httpapi

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strconv"

	"github.com/minconsul/minconsul/raftstore"
	"github.com/minconsul/minconsul/structs"
)

// snapshotter is the part of a server's store behind /v1/snapshot. A client
// agent's remote store lacks it; its forwarder sends these requests to a
// server anyway, so the local answer is only reached by misconfiguration.
type snapshotter interface {
	SaveSnapshot(ctx context.Context, w io.Writer, stale bool) (*raftstore.SnapshotMeta, error)
	RestoreSnapshot(ctx context.Context, r io.Reader) error
}

var errNotSupported = &httpError{code: http.StatusInternalServerError, msg: "not supported on this agent"}

// snapshotEndpoint is Consul's /v1/snapshot: GET saves a backup archive,
// PUT restores one.
func (s *Server) snapshotEndpoint(q *request) error {
	if err := s.checkDC(q); err != nil {
		return err
	}
	snap, ok := s.store.(snapshotter)
	if !ok {
		return errNotSupported
	}
	if q.r.Method == http.MethodPut {
		return s.snapshotRestore(q, snap)
	}
	return s.snapshotSave(q, snap)
}

// snapshotSave buffers the archive before answering: the headers (index,
// leader) must go out before the body, and an error found while writing
// must still become a clean status code rather than a truncated 200.
func (s *Server) snapshotSave(q *request, snap snapshotter) error {
	var buf bytes.Buffer
	meta, err := snap.SaveSnapshot(q.r.Context(), &buf, q.has("stale"))
	if err != nil {
		return err
	}
	h := q.w.Header()
	setMeta(h, &structs.QueryMeta{Index: meta.Index, KnownLeader: s.store.Leader() != ""})
	// Consul sets no type itself; net/http sniffs its gzip stream as this.
	h[hdrContentType] = gzipContentType
	h["Content-Length"] = []string{strconv.Itoa(buf.Len())}
	_, _ = buf.WriteTo(q.w)
	return nil
}

var gzipContentType = []string{"application/x-gzip"}

// snapshotRestore hands the body to the store, which verifies and decodes
// the whole archive before Raft sees it: a bad archive is a 400 and
// changes nothing.
func (s *Server) snapshotRestore(q *request, snap snapshotter) error {
	body := q.r.Body
	if body == nil {
		body = http.NoBody
	}
	if err := snap.RestoreSnapshot(q.r.Context(), body); err != nil {
		return err
	}
	return nil
}
