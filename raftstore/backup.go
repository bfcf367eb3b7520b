package raftstore

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/raft"
	"github.com/minconsul/minconsul/structs"
)

// maxBackupSize bounds what a restore reads into memory.
const maxBackupSize = 1 << 30

// SaveSnapshot writes a backup archive of the whole state (a gzipped tar
// of meta.json, state.bin and SHA256SUMS). By default only the leader
// answers, after confirming leadership, so the archive holds every
// acknowledged write; stale takes whatever this server has (useful when
// there is no leader, as Consul's ?stale).
func (s *Store) SaveSnapshot(ctx context.Context, w io.Writer, stale bool) (*structs.SnapshotMeta, error) {
	if !stale {
		if err := s.checkConsistency(ctx, structs.ConsistencyConsistent); err != nil {
			return nil, err
		}
		if err := mapRaftErr(s.raft.Barrier(s.cfg.ApplyTimeout).Error()); err != nil {
			return nil, err
		}
	}
	var state bytes.Buffer
	st := s.State()
	idx := st.LastIndex()
	if err := st.WriteSnapshot(&state); err != nil {
		return nil, fmt.Errorf("snapshot state: %w", err)
	}
	term, _ := strconv.ParseUint(s.raft.Stats()["last_log_term"], 10, 64)
	meta := &structs.SnapshotMeta{ID: fmt.Sprintf("%d-%d-%d", term, idx, time.Now().UnixMilli()), Size: int64(state.Len()),
		Index: idx, Term: term, Version: 1, Created: time.Now().UTC()}
	return meta, writeArchive(w, meta, state.Bytes())
}

func writeArchive(w io.Writer, meta *structs.SnapshotMeta, state []byte) error {
	gz := gzip.NewWriter(w)
	tw := tar.NewWriter(gz)
	mb, err := json.Marshal(meta)
	if err != nil {
		return err
	}
	sum := func(b []byte) string { h := sha256.Sum256(b); return hex.EncodeToString(h[:]) }
	sums := fmt.Sprintf("%s  meta.json\n%s  state.bin\n", sum(mb), sum(state))
	for _, f := range []struct {
		name string
		data []byte
	}{{"meta.json", mb}, {"state.bin", state}, {"SHA256SUMS", []byte(sums)}} {
		if err := tw.WriteHeader(&tar.Header{Name: f.name, Mode: 0o600, Size: int64(len(f.data)), ModTime: meta.Created}); err != nil {
			return err
		}
		if _, err := tw.Write(f.data); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return gz.Close()
}

// ReadArchive reads and verifies a backup archive, returning its meta and
// the state stream.
func ReadArchive(r io.Reader) (*structs.SnapshotMeta, []byte, error) {
	gz, err := gzip.NewReader(io.LimitReader(r, maxBackupSize))
	if err != nil {
		return nil, nil, structs.BadRequest(fmt.Sprintf("snapshot is not a gzip archive: %v", err))
	}
	tr := tar.NewReader(gz)
	files := map[string][]byte{}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, nil, structs.BadRequest(fmt.Sprintf("snapshot archive: %v", err))
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			return nil, nil, structs.BadRequest(fmt.Sprintf("snapshot archive %s: %v", h.Name, err))
		}
		files[h.Name] = b
	}
	for _, name := range []string{"meta.json", "state.bin", "SHA256SUMS"} {
		if files[name] == nil {
			return nil, nil, structs.BadRequest(fmt.Sprintf("snapshot archive lacks %s", name))
		}
	}
	for _, line := range strings.Split(strings.TrimSpace(string(files["SHA256SUMS"])), "\n") {
		want, name, ok := strings.Cut(line, "  ")
		if !ok {
			return nil, nil, structs.BadRequest("snapshot archive: malformed SHA256SUMS")
		}
		h := sha256.Sum256(files[name])
		if hex.EncodeToString(h[:]) != want {
			return nil, nil, structs.BadRequest(fmt.Sprintf("snapshot archive: checksum mismatch for %s", name))
		}
	}
	var meta structs.SnapshotMeta
	if err := json.Unmarshal(files["meta.json"], &meta); err != nil {
		return nil, nil, structs.BadRequest(fmt.Sprintf("snapshot meta: %v", err))
	}
	return &meta, files["state.bin"], nil
}

// RestoreSnapshot replaces the cluster's state with a backup archive. The
// archive is verified and decoded in full before Raft sees it, so a bad
// archive changes nothing. Raft installs it on the leader and ships it to
// followers; every server's blocked queries wake on the swap.
func (s *Store) RestoreSnapshot(ctx context.Context, r io.Reader) error {
	_, state, err := ReadArchive(r)
	if err != nil {
		return err
	}
	probe, err := NewStateStore()
	if err != nil {
		return err
	}
	if err := probe.ReadSnapshot(bytes.NewReader(state)); err != nil {
		return structs.BadRequest(fmt.Sprintf("snapshot state: %v", err))
	}
	if err := s.checkConsistency(ctx, structs.ConsistencyConsistent); err != nil {
		return err
	}
	meta := &raft.SnapshotMeta{Version: raft.SnapshotVersionMax, Size: int64(len(state))}
	if err := s.raft.Restore(meta, bytes.NewReader(state), time.Minute); err != nil {
		return fmt.Errorf("raft restore: %w", mapRaftErr(err))
	}
	// The sessions are now the archive's: time them afresh.
	s.timers.clearAll()
	s.armSessionTimers()
	return nil
}
