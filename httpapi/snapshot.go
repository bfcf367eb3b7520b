package httpapi

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"strconv"

	"github.com/minconsul/minconsul/structs"
)

// maxSnapshotSize bounds a restore's body: what the restore itself reads.
const maxSnapshotSize = 1 << 30

// snapshotEndpoint is Consul's /v1/snapshot: GET saves a backup archive,
// PUT restores one.
func (s *Server) snapshotEndpoint(q *request) error {
	if q.r.Method == http.MethodPut {
		return s.snapshotRestore(q)
	}
	return s.snapshotSave(q)
}

// snapshotSave answers the archive whole: the headers (index, leader) go
// out before the body, and an error found while writing it is a clean
// status code rather than a truncated 200.
func (s *Server) snapshotSave(q *request) error {
	req := &structs.DCSpecificRequest{}
	if q.has("stale") {
		req.Consistency = structs.ConsistencyStale
	}
	res, err := s.backend.SnapshotSave(q.r.Context(), req)
	if err != nil {
		return err
	}
	snap := res.Value
	h := q.w.Header()
	setMeta(h, &structs.QueryMeta{Index: snap.Meta.Index, KnownLeader: res.KnownLeader})
	// Consul sets no type itself; net/http sniffs its gzip stream as this.
	h[hdrContentType] = gzipContentType
	h["Content-Length"] = []string{strconv.Itoa(len(snap.Archive))}
	_, _ = q.w.Write(snap.Archive)
	return nil
}

var gzipContentType = []string{"application/x-gzip"}

// snapshotRestore hands the archive to the leader, which verifies and
// decodes all of it before Raft sees it: a bad archive is a 400 and
// changes nothing.
func (s *Server) snapshotRestore(q *request) error {
	var buf bytes.Buffer
	if q.r.Body != nil {
		if _, err := buf.ReadFrom(io.LimitReader(q.r.Body, maxSnapshotSize+1)); err != nil {
			return badRequest(fmt.Sprintf("read snapshot: %v", err))
		}
	}
	if buf.Len() > maxSnapshotSize {
		return &httpError{code: http.StatusRequestEntityTooLarge, msg: fmt.Sprintf("snapshot larger than %d bytes", maxSnapshotSize)}
	}
	_, err := s.backend.SnapshotRestore(q.r.Context(), &structs.SnapshotRestoreRequest{Archive: buf.Bytes()})
	return err
}
