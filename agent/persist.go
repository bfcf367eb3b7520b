package agent

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

func (a *Agent) persistDir(kind string) string {
	if a.cfg.DataDir == "" {
		return ""
	}
	return filepath.Join(a.cfg.DataDir, kind)
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
// checking under a.mu that what is written is still registered (or what is
// removed is not registered again): a write that lost a race with a
// deregistration cannot bring its file back, nor a late removal drop the
// file of a new registration. Lock order: persistMu, then mu.

// persistIf runs do holding persistMu if cond, evaluated under a.mu, holds.
func (a *Agent) persistIf(cond func() bool, do func()) {
	if a.cfg.DataDir == "" {
		return
	}
	a.persistMu.Lock()
	defer a.persistMu.Unlock()
	a.mu.Lock()
	ok := cond()
	a.mu.Unlock()
	if ok {
		do()
	}
}

// persistDef writes v as the file of kind/id. Caller holds persistMu.
func (a *Agent) persistDef(kind, id string, v any) {
	dir := a.persistDir(kind)
	if dir == "" {
		return
	}
	if err := writeAtomic(fileFor(dir, id), v); err != nil {
		a.logger.Warn("could not persist definition", "kind", kind, "id", id, "error", err)
	}
}

// unpersist removes the file of kind/id. Caller holds persistMu.
func (a *Agent) unpersist(kind, id string) {
	if dir := a.persistDir(kind); dir != "" {
		if err := os.Remove(fileFor(dir, id)); err != nil && !os.IsNotExist(err) {
			a.logger.Warn("could not remove persisted definition", "kind", kind, "id", id, "error", err)
		}
	}
}

// persistService keeps an API-registered service while s is still the
// registration of its ID.
func (a *Agent) persistService(s *localService, def *structs.ServiceDefinition) {
	id := s.def.ID
	a.persistIf(func() bool { return a.services[id] == s },
		func() { a.persistDef("services", id, persistedService{Def: def}) })
}

// unpersistService removes a deregistered service's file, unless the ID
// has been registered again meanwhile.
func (a *Agent) unpersistService(id string) {
	a.persistIf(func() bool { _, ok := a.services[id]; return !ok },
		func() { a.unpersist("services", id) })
}

// persistCheck keeps an API-registered check while c is still the
// registration of its ID.
func (a *Agent) persistCheck(c *localCheck, def *structs.CheckDefinition) {
	id := c.hc.CheckID
	a.persistIf(func() bool { return a.checks[id] == c },
		func() { a.persistDef("checks", id, persistedCheck{Def: def}) })
}

// dropCheckFiles removes a removed check's definition and TTL state,
// unless the ID has been registered again meanwhile. Call it without a.mu.
func (a *Agent) dropCheckFiles(id string) {
	a.persistIf(func() bool { _, ok := a.checks[id]; return !ok }, func() {
		a.unpersist("checks", id)
		a.unpersist(stateKind, id)
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
func (a *Agent) persistCheckState(c *localCheck, expires time.Time) {
	id := c.hc.CheckID
	var st persistedCheckState
	a.persistIf(func() bool {
		if a.checks[id] != c {
			return false
		}
		st = persistedCheckState{CheckID: id, Status: c.hc.Status, Output: c.hc.Output, Expires: expires.UnixNano()}
		return true
	}, func() { a.persistDef(stateKind, id, st) })
}

// restoreCheckState gives a new TTL check its persisted state, unless that
// has expired (then the file goes). Call it without a.mu.
func (a *Agent) restoreCheckState(lc *localCheck) {
	dir := a.persistDir(stateKind)
	if dir == "" || lc.ttl == 0 {
		return
	}
	id := lc.hc.CheckID
	a.persistMu.Lock()
	defer a.persistMu.Unlock()
	b, err := os.ReadFile(fileFor(dir, id))
	if err != nil {
		return
	}
	var st persistedCheckState
	if err := json.Unmarshal(b, &st); err != nil || st.CheckID != id || !validStatus(st.Status) {
		a.logger.Warn("skipping unreadable check state", "check", id, "error", err)
		return
	}
	if time.Now().UnixNano() >= st.Expires {
		a.unpersist(stateKind, id)
		return
	}
	lc.hc.Status, lc.hc.Output = st.Status, st.Output
}

// loadPersisted re-registers what the API registered before a restart.
func (a *Agent) loadPersisted() error {
	for _, kind := range []string{"services", "checks"} {
		dir := a.persistDir(kind)
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
					a.logger.Warn("skipping unreadable persisted service", "file", e.Name(), "error", err)
					continue
				}
				if err := a.serviceRegister(a.ctx, p.Def, false, false, false); err != nil {
					return fmt.Errorf("restore service %q: %w", p.Def.Name, err)
				}
				continue
			}
			var p persistedCheck
			if err := json.Unmarshal(b, &p); err != nil || p.Def == nil {
				a.logger.Warn("skipping unreadable persisted check", "file", e.Name(), "error", err)
				continue
			}
			if err := a.checkRegister(a.ctx, p.Def, false, false); err != nil {
				a.logger.Warn("could not restore check", "check", p.Def.Name, "error", err)
			}
		}
	}
	return nil
}
