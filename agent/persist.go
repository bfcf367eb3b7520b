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

func writeAtomic(path string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
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
	return os.Rename(tmp, path)
}

func (a *Agent) persistService(id string, def *structs.ServiceDefinition) {
	dir := a.persistDir("services")
	if dir == "" {
		return
	}
	if err := os.MkdirAll(dir, 0o700); err == nil {
		err = writeAtomic(fileFor(dir, id), persistedService{Def: def})
		if err == nil {
			return
		}
		a.logger.Warn("could not persist service", "service", id, "error", err)
	}
}

func (a *Agent) persistCheck(id string, def *structs.CheckDefinition) {
	dir := a.persistDir("checks")
	if dir == "" {
		return
	}
	if err := os.MkdirAll(dir, 0o700); err == nil {
		if err := writeAtomic(fileFor(dir, id), persistedCheck{Def: def}); err != nil {
			a.logger.Warn("could not persist check", "check", id, "error", err)
		}
	}
}

func (a *Agent) unpersist(kind, id string) {
	if dir := a.persistDir(kind); dir != "" {
		if err := os.Remove(fileFor(dir, id)); err != nil && !os.IsNotExist(err) {
			a.logger.Warn("could not remove persisted definition", "kind", kind, "id", id, "error", err)
		}
	}
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

func (a *Agent) checkStateFile(id string) string {
	dir := a.persistDir("checks")
	if dir == "" {
		return ""
	}
	return fileFor(filepath.Join(dir, "state"), id)
}

func (a *Agent) persistCheckState(id, status, output string, ttl time.Duration) {
	path := a.checkStateFile(id)
	if path == "" {
		return
	}
	st := persistedCheckState{CheckID: id, Status: status, Output: output, Expires: time.Now().Add(ttl).UnixNano()}
	a.stateMu.Lock() // one writer of the temp file at a time
	defer a.stateMu.Unlock()
	err := os.MkdirAll(filepath.Dir(path), 0o700)
	if err == nil {
		err = writeAtomic(path, st)
	}
	if err != nil {
		a.logger.Warn("could not persist check state", "check", id, "error", err)
	}
}

// restoreCheckState gives a new TTL check its persisted state, unless that
// has expired (then the file goes).
func (a *Agent) restoreCheckState(lc *localCheck) {
	path := a.checkStateFile(lc.hc.CheckID)
	if path == "" || lc.ttl == 0 {
		return
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return
	}
	var st persistedCheckState
	if err := json.Unmarshal(b, &st); err != nil || st.CheckID != lc.hc.CheckID || !validStatus(st.Status) {
		a.logger.Warn("skipping unreadable check state", "check", lc.hc.CheckID, "error", err)
		return
	}
	if time.Now().UnixNano() >= st.Expires {
		a.purgeCheckState(lc.hc.CheckID)
		return
	}
	lc.hc.Status, lc.hc.Output = st.Status, st.Output
}

func (a *Agent) purgeCheckState(id string) {
	if path := a.checkStateFile(id); path != "" {
		if err := os.Remove(path); err != nil && !os.IsNotExist(err) {
			a.logger.Warn("could not remove check state", "check", id, "error", err)
		}
	}
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
