package local

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/minconsul/minconsul/structs"
)

// Services and checks registered through the API are kept in the data dir
// (as Consul does), so that a restarted agent still owns them and its
// anti-entropy does not remove them from the catalog. Config-file ones are
// not persisted: the files are the source.

type persistedService struct {
	Def *structs.ServiceDefinition
}

type persistedCheck struct {
	Def *structs.CheckDefinition
}

func (s *State) persistDir(kind string) string {
	if s.cfg.DataDir == "" {
		return ""
	}
	return filepath.Join(s.cfg.DataDir, kind)
}

func fileFor(dir, id string) string {
	h := sha256.Sum256([]byte(id))
	return filepath.Join(dir, hex.EncodeToString(h[:16])+".json")
}

// writeAtomic writes v as JSON to path through a temp file of its own in
// the same directory (created if missing), so that concurrent writers of
// one path never share a temp file and readers see the old or the new file.
func writeAtomic(path string, v any) (err error) {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, filepath.Base(path)+".*.tmp")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			os.Remove(f.Name())
		}
	}()
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}

// Persisted files are written and removed with persistMu held, after
// checking under s.mu that what is written is still registered (or what is
// removed is not registered again): a write that lost a race with a
// deregistration cannot bring its file back, nor a late removal drop the
// file of a new registration. Lock order: persistMu, then mu.

// persistIf runs do holding persistMu if cond, evaluated under s.mu, holds.
func (s *State) persistIf(cond func() bool, do func()) {
	if s.cfg.DataDir == "" {
		return
	}
	s.persistMu.Lock()
	defer s.persistMu.Unlock()
	s.mu.Lock()
	ok := cond()
	s.mu.Unlock()
	if ok {
		do()
	}
}

// persistDef writes v as the file of kind/id. Caller holds persistMu.
func (s *State) persistDef(kind, id string, v any) {
	dir := s.persistDir(kind)
	if dir == "" {
		return
	}
	if err := writeAtomic(fileFor(dir, id), v); err != nil {
		s.logger.Warn("could not persist definition", "kind", kind, "id", id, "error", err)
	}
}

// unpersist removes the file of kind/id. Caller holds persistMu.
func (s *State) unpersist(kind, id string) {
	if dir := s.persistDir(kind); dir != "" {
		if err := os.Remove(fileFor(dir, id)); err != nil && !os.IsNotExist(err) {
			s.logger.Warn("could not remove persisted definition", "kind", kind, "id", id, "error", err)
		}
	}
}

// persistService keeps an API-registered service while s is still the
// registration of its ID.
func (s *State) persistService(svc *service, def *structs.ServiceDefinition) {
	id := svc.def.ID
	s.persistIf(func() bool { return s.services[id] == svc },
		func() { s.persistDef("services", id, persistedService{Def: def}) })
}

// unpersistService removes a deregistered service's file, unless the ID
// has been registered again meanwhile.
func (s *State) unpersistService(id string) {
	s.persistIf(func() bool { _, ok := s.services[id]; return !ok },
		func() { s.unpersist("services", id) })
}

// persistCheck keeps an API-registered check while c is still the
// registration of its ID.
func (s *State) persistCheck(c *check, def *structs.CheckDefinition) {
	id := c.id
	s.persistIf(func() bool { return s.checks[id] == c },
		func() { s.persistDef("checks", id, persistedCheck{Def: def}) })
}

// dropCheckFiles removes a removed check's definition and TTL state,
// unless the ID has been registered again meanwhile. Call it without s.mu.
func (s *State) dropCheckFiles(id string) {
	s.persistIf(func() bool { _, ok := s.checks[id]; return !ok }, func() {
		s.unpersist("checks", id)
		s.unpersist(stateKind, id)
	})
}

// TTL check state. As Consul does, the last update of a TTL check is kept
// (data_dir/checks/state) with the time its TTL runs out, so that a
// restarted agent, or a re-registration of the same check, reports the
// check as it was until then instead of starting critical.
type persistedCheckState struct {
	CheckID string
	Status  string
	Output  string
	Expires int64 // UnixNano
}

// stateKind is where TTL check state is kept, under the checks' files.
var stateKind = filepath.Join("checks", "state")

// persistCheckState keeps a TTL check's status and output, as they are
// when written, until expires; nothing once c is no longer registered.
func (s *State) persistCheckState(c *check, expires time.Time) {
	id := c.id
	var st persistedCheckState
	s.persistIf(func() bool {
		if s.checks[id] != c {
			return false
		}
		st = persistedCheckState{CheckID: id, Status: c.hc.Status, Output: c.hc.Output, Expires: expires.UnixNano()}
		return true
	}, func() { s.persistDef(stateKind, id, st) })
}

// restoreCheckState gives a new TTL check its persisted state, unless that
// has expired (then the file goes). Call it without s.mu.
func (s *State) restoreCheckState(lc *check) {
	dir := s.persistDir(stateKind)
	if dir == "" || lc.ttl == 0 {
		return
	}
	id := lc.id
	s.persistMu.Lock()
	defer s.persistMu.Unlock()
	b, err := os.ReadFile(fileFor(dir, id))
	if err != nil {
		return
	}
	var st persistedCheckState
	if err := json.Unmarshal(b, &st); err != nil || st.CheckID != id || !validStatus(st.Status) {
		s.logger.Warn("skipping unreadable check state", "check", id, "error", err)
		return
	}
	if time.Now().UnixNano() >= st.Expires {
		s.unpersist(stateKind, id)
		return
	}
	lc.hc.Status, lc.hc.Output = st.Status, st.Output
}

// LoadPersisted re-registers what the API registered before a restart.
func (s *State) LoadPersisted() error {
	for _, kind := range []string{"services", "checks"} {
		dir := s.persistDir(kind)
		if dir == "" {
			return nil
		}
		entries, err := os.ReadDir(dir)
		if os.IsNotExist(err) {
			continue
		}
		if err != nil {
			return err
		}
		for _, e := range entries {
			if filepath.Ext(e.Name()) != ".json" {
				continue
			}
			b, err := os.ReadFile(filepath.Join(dir, e.Name()))
			if err != nil {
				return err
			}
			if kind == "services" {
				var p persistedService
				if err := json.Unmarshal(b, &p); err != nil || p.Def == nil {
					s.logger.Warn("skipping unreadable persisted service", "file", e.Name(), "error", err)
					continue
				}
				if err := s.AddService(p.Def, false, false); err != nil {
					return fmt.Errorf("restore service %q: %w", p.Def.Name, err)
				}
				continue
			}
			var p persistedCheck
			if err := json.Unmarshal(b, &p); err != nil || p.Def == nil {
				s.logger.Warn("skipping unreadable persisted check", "file", e.Name(), "error", err)
				continue
			}
			if isMaintCheck(p.Def.CheckID) {
				s.addMaint(p.Def)
				continue
			}
			if err := s.AddCheck(p.Def, false); err != nil {
				s.logger.Warn("could not restore check", "check", p.Def.Name, "error", err)
			}
		}
	}
	return nil
}
