// Package local owns what an agent knows of its own node: the services and
// checks registered here (through the API, config files, or restored from
// the data dir), their check runners, their persistence, and the two
// halves of anti-entropy that make the catalog match them (sync.go). The
// local state is the truth for this node; the catalog's copy is derived.
//
// It reads and writes the catalog only through the backend contract, and
// never decides when to sync: package ae drives SyncFull and SyncChanges.
package local

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sort"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/minconsul/minconsul/agent/checks"
	"github.com/minconsul/minconsul/backend"
	"github.com/minconsul/minconsul/structs"
)

// Config is the local state's slice of the agent configuration.
type Config struct {
	NodeName, NodeID, Datacenter string
	AdvertiseAddr                string // this node's address in the catalog
	DataDir                      string // "" keeps nothing on disk (-dev)
	EnableScriptChecks           bool
	// Version is the Consul version this agent speaks, written as the
	// node's consul-version meta (what `version` and /v1/agent/self report).
	Version string
	// NodeMeta is the operator's node meta (node_meta), if any.
	NodeMeta map[string]string
	// CheckUpdateInterval delays writing a check whose output changed but
	// whose status did not (Consul's check_update_interval); 0 writes at
	// once.
	CheckUpdateInterval time.Duration
	// Docker runs Docker checks' commands; nil refuses Docker checks.
	Docker checks.Docker
	// ReapInterval is how often services critical for longer than their
	// DeregisterCriticalServiceAfter are looked for (Consul: 30 s), and
	// DeregisterMin the shortest such timeout honoured (Consul: 1 min).
	ReapInterval, DeregisterMin time.Duration
	// MinInterval raises shorter check intervals (Consul: 1 s).
	MinInterval time.Duration
	// OutputMaxSize is Consul's check_output_max_size: the most output a
	// check keeps (0: checks.MaxOutput); a check's own OutputMaxSize can
	// only lower it.
	OutputMaxSize int
}

// Catalog is where anti-entropy reads and writes this node's entries.
type Catalog interface {
	backend.CatalogReader
	backend.HealthReader
	backend.Writer
}

// State is the local services and checks.
type State struct {
	cfg     Config
	logger  hclog.Logger
	catalog Catalog
	// changed is called when a check's status changed on its own (a probe,
	// a TTL running out): the catalog should learn it soon.
	changed func()

	ctx    context.Context // the check runners' lifetime
	cancel context.CancelFunc
	wg     sync.WaitGroup // the check runners

	// persistMu orders persisted-file writes and removals (persist.go); it
	// is taken before mu.
	persistMu sync.Mutex
	mu        sync.Mutex
	services  map[string]*service
	checks    map[string]*check
	// What the catalog was last given, by ID (sync.go): an entry whose
	// current object is not the one synced has changed since.
	synced       map[string]*structs.NodeService
	syncedChecks map[string]*structs.HealthCheck
	nodeSynced   bool
	// aliases are poked when any local check or service changes, so local
	// alias checks recompute (alias.go).
	aliases map[*check]chan struct{}
}

// service is a service this agent owns; its catalog copy is def.
type service struct {
	def      *structs.NodeService
	fromFile bool // registered by a config file: replaced on reload
}

// check is a check this agent owns and runs. hc is replaced, never
// modified, when the check changes, so a copy handed out stays valid.
type check struct {
	id       string
	hc       *structs.HealthCheck
	def      *structs.CheckDefinition
	ttl      time.Duration
	probe    checks.Probe
	fromFile bool

	deadline *checks.TTL        // TTL checks
	cancel   context.CancelFunc // probe loop or alias watch

	thresholds checks.Thresholds
	outputCap  int           // checks.OutputCap of the agent's and the check's
	alias      *aliasTarget  // alias checks
	deregAfter time.Duration // DeregisterCriticalServiceAfter, service checks
	// criticalSince is when the check last became critical (zero while it
	// is not): the reaper's clock.
	criticalSince time.Time
	// An output-only change waits for CheckUpdateInterval: until then the
	// catalog's copy still counts as in sync while it is deferredFrom
	// (sync.go), and deferTimer marks the change dirty when it fires.
	deferredFrom *structs.HealthCheck
	deferTimer   *time.Timer
}

// New builds an empty local state; changed is called (without locks held)
// when a check's status changes on its own.
func New(cfg Config, catalog Catalog, changed func(), logger hclog.Logger) *State {
	s := &State{cfg: cfg, logger: logger, catalog: catalog, changed: changed,
		services: map[string]*service{}, checks: map[string]*check{},
		synced: map[string]*structs.NodeService{}, syncedChecks: map[string]*structs.HealthCheck{},
		aliases: map[*check]chan struct{}{}}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.startReaper()
	return s
}

// Close stops every check runner and waits for them.
func (s *State) Close() {
	s.cancel()
	s.mu.Lock()
	for _, c := range s.checks {
		c.stop()
	}
	s.mu.Unlock()
	s.wg.Wait()
}

// AddService validates a definition and records it with its checks,
// replacing an earlier registration with the same ID (and, with replace,
// dropping that registration's checks the new one lacks). Services not
// from a config file are persisted.
func (s *State) AddService(def *structs.ServiceDefinition, replace, fromFile bool) error {
	ns, cks, err := s.validateService(def)
	if err != nil {
		return err
	}
	for _, c := range cks {
		s.restoreCheckState(c)
	}
	s.mu.Lock()
	if old, ok := s.services[ns.ID]; ok && old.def != nil {
		ns.CreateIndex = old.def.CreateIndex
	}
	svc := &service{def: ns, fromFile: fromFile}
	s.services[ns.ID] = svc
	s.notifyAliasesLocked()
	keep := map[string]bool{}
	for _, c := range cks {
		keep[c.id] = true
		c.fromFile = fromFile
		s.addCheckLocked(c)
	}
	var dropped []string
	if replace {
		for id, c := range s.checks {
			if c.hc.ServiceID == ns.ID && !keep[id] {
				s.removeCheckLocked(id)
				dropped = append(dropped, id)
			}
		}
	}
	s.mu.Unlock()
	if !fromFile {
		s.persistService(svc, def)
	}
	for _, id := range dropped {
		s.dropCheckFiles(id)
	}
	s.logger.Debug("service registered", "service", ns.ID, "checks", len(cks))
	return nil
}

// RemoveService removes a local service and its checks, also those
// registered on their own.
func (s *State) RemoveService(id string) error {
	s.mu.Lock()
	if _, ok := s.services[id]; !ok {
		s.mu.Unlock()
		return structs.NotFound(fmt.Sprintf("Unknown service ID %q. Ensure that the service ID is passed, not the service name.", id))
	}
	delete(s.services, id)
	s.notifyAliasesLocked()
	var gone []string
	for cid, c := range s.checks {
		if c.hc.ServiceID == id {
			s.removeCheckLocked(cid)
			gone = append(gone, cid)
		}
	}
	s.mu.Unlock()
	s.unpersistService(id)
	for _, cid := range gone {
		s.dropCheckFiles(cid)
	}
	return nil
}

// AddCheck adds a node-level or service-level check.
func (s *State) AddCheck(def *structs.CheckDefinition, fromFile bool) error {
	if def == nil {
		return structs.BadRequest("Request decode failed: empty body")
	}
	var svc *structs.NodeService
	if def.ServiceID != "" {
		s.mu.Lock()
		owner, ok := s.services[def.ServiceID]
		s.mu.Unlock()
		if !ok {
			return structs.BadRequest(fmt.Sprintf("ServiceID %q does not exist", def.ServiceID))
		}
		svc = owner.def
	}
	c, err := s.validateCheck(def, svc)
	if err != nil {
		return err
	}
	c.fromFile = fromFile
	s.restoreCheckState(c)
	s.mu.Lock()
	s.addCheckLocked(c)
	s.mu.Unlock()
	if !fromFile {
		s.persistCheck(c, def)
	}
	return nil
}

// RemoveCheck removes a local check.
func (s *State) RemoveCheck(id string) error {
	s.mu.Lock()
	if _, ok := s.checks[id]; !ok {
		s.mu.Unlock()
		return structs.NotFound(fmt.Sprintf("Unknown check ID %q. Ensure that the check ID is passed, not the check name.", id))
	}
	s.removeCheckLocked(id)
	s.mu.Unlock()
	s.dropCheckFiles(id)
	return nil
}

// UpdateTTL records a TTL check's status (check/pass|warn|fail|update) and
// reports whether it changed.
func (s *State) UpdateTTL(id, status, output string) (bool, error) {
	if !validStatus(status) {
		return false, structs.BadRequest(fmt.Sprintf("Invalid check status: %q", status))
	}
	s.mu.Lock()
	c, ok := s.checks[id]
	if !ok {
		s.mu.Unlock()
		return false, structs.NotFound(fmt.Sprintf("Unknown check ID %q. Ensure that the check ID is passed, not the check name.", id))
	}
	if c.ttl == 0 {
		s.mu.Unlock()
		return false, fmt.Errorf("CheckID %q does not have associated TTL", id)
	}
	c.deadline.Reset()
	changed := s.setStatusLocked(c, status, checks.TTLOutput(output, c.outputCap))
	expires := time.Now().Add(c.ttl)
	s.mu.Unlock()
	s.persistCheckState(c, expires)
	return changed, nil
}

// setStatusLocked updates a registered check's status and output, and
// reports whether the catalog should learn of it now: a status change
// yes; an output-only change only once CheckUpdateInterval has passed
// (its timer then asks for the sync), as Consul's check_update_interval.
func (s *State) setStatusLocked(c *check, status, output string) bool {
	if c.hc.Status == status && c.hc.Output == output {
		return false
	}
	old := c.hc
	hc := *old
	hc.Status, hc.Output = status, output
	c.hc = &hc
	s.notifyAliasesLocked()
	if old.Status == status && s.cfg.CheckUpdateInterval > 0 {
		if c.deferTimer == nil {
			c.deferredFrom = old
			// Half to one and a half intervals, so that many checks do not
			// all write at once (Consul staggers the same way).
			d := s.cfg.CheckUpdateInterval/2 + rand.N(s.cfg.CheckUpdateInterval)
			c.deferTimer = time.AfterFunc(d, func() { s.flushDeferred(c) })
		}
		return false
	}
	c.stopDefer()
	if status == structs.HealthCritical {
		if old.Status != structs.HealthCritical || c.criticalSince.IsZero() {
			c.criticalSince = time.Now()
		}
	} else {
		c.criticalSince = time.Time{}
	}
	return true
}

// flushDeferred ends an output-only change's wait: the next sync writes it.
func (s *State) flushDeferred(c *check) {
	s.mu.Lock()
	live := s.checks[c.id] == c && c.deferTimer != nil
	c.deferTimer, c.deferredFrom = nil, nil
	if live {
		// A new copy: whatever a sync marked as written meanwhile (a full
		// sync counts a deferred check as in sync), this one is not yet.
		hc := *c.hc
		c.hc = &hc
	}
	s.mu.Unlock()
	if live && s.changed != nil {
		s.changed()
	}
}

func (c *check) stopDefer() {
	if c.deferTimer != nil {
		c.deferTimer.Stop()
	}
	c.deferTimer, c.deferredFrom = nil, nil
}

// report records what a runner found for c, if c is still the check
// registered under its ID (a replaced check's runner may report late).
// result is given the check's current output (a TTL's expiry quotes it).
func (s *State) report(c *check, result func(lastOutput string) (status, output string)) {
	s.mu.Lock()
	changed := false
	if s.checks[c.id] == c {
		status, output := result(c.hc.Output)
		changed = s.setStatusLocked(c, status, output)
	}
	s.mu.Unlock()
	if changed && s.changed != nil {
		s.changed()
	}
}

func (s *State) addCheckLocked(c *check) {
	if old, ok := s.checks[c.id]; ok {
		old.stop()
	}
	s.checks[c.id] = c
	if c.hc.Status == structs.HealthCritical {
		c.criticalSince = time.Now()
	}
	s.startCheckLocked(c)
	s.notifyAliasesLocked()
}

func (s *State) removeCheckLocked(id string) {
	if c, ok := s.checks[id]; ok {
		c.stop()
		delete(s.checks, id)
		s.notifyAliasesLocked()
	}
}

// startCheckLocked arms a TTL check's deadline or starts a probe loop.
func (s *State) startCheckLocked(c *check) {
	if c.ttl > 0 {
		c.deadline = checks.StartTTL(c.ttl, func() {
			s.report(c, func(last string) (string, string) {
				return structs.HealthCritical, fmt.Sprintf("TTL expired (last output before timeout follows): %s", last)
			})
		})
		return
	}
	if (c.probe == nil && c.alias == nil) || s.ctx.Err() != nil {
		return
	}
	ctx, cancel := context.WithCancel(s.ctx)
	c.cancel = cancel
	s.wg.Add(1)
	if c.alias != nil {
		go func() {
			defer s.wg.Done()
			s.runAlias(ctx, c)
		}()
		return
	}
	go func() {
		defer s.wg.Done()
		checks.Run(ctx, c.probe, checks.Stagger(c.probe.Interval()), c.thresholds.Filter(func(status, output string) {
			s.report(c, func(string) (string, string) { return status, output })
		}))
	}()
}

// stop halts the check's deadline or probe loop.
func (c *check) stop() {
	if c.deadline != nil {
		c.deadline.Stop()
	}
	if c.cancel != nil {
		c.cancel()
	}
	c.stopDefer()
}

// Services lists local services as /v1/agent/services shows them.
func (s *State) Services() map[string]*structs.AgentService {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]*structs.AgentService, len(s.services))
	for id, svc := range s.services {
		out[id] = s.agentService(svc.def)
	}
	return out
}

// Service returns one local service.
func (s *State) Service(id string) (*structs.AgentService, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	svc, ok := s.services[id]
	if !ok {
		return nil, structs.NotFound(fmt.Sprintf("unknown service ID: %s", id))
	}
	return s.agentService(svc.def), nil
}

func (s *State) agentService(ns *structs.NodeService) *structs.AgentService {
	return &structs.AgentService{
		ID: ns.ID, Service: ns.Service, Tags: ns.Tags, Meta: ns.Meta, Port: ns.Port, Address: ns.Address,
		TaggedAddresses: ns.TaggedAddresses, Weights: ns.Weights, EnableTagOverride: ns.EnableTagOverride,
		Datacenter: s.cfg.Datacenter,
	}
}

// Checks lists local checks.
func (s *State) Checks() map[string]*structs.HealthCheck {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]*structs.HealthCheck, len(s.checks))
	for id, c := range s.checks {
		hc := *c.hc
		out[id] = &hc
	}
	return out
}

// TTLChecks counts the TTL checks (/v1/agent/self).
func (s *State) TTLChecks() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, c := range s.checks {
		if c.ttl > 0 {
			n++
		}
	}
	return n
}

// Reload replaces the config-file services and checks with new ones. All
// of them are validated first: a bad file changes nothing.
func (s *State) Reload(services []*structs.ServiceDefinition, cks []*structs.CheckDefinition) error {
	for _, def := range services {
		if _, _, err := s.validateService(def); err != nil {
			return fmt.Errorf("Failed reloading services: %w", err)
		}
	}
	s.mu.Lock()
	for id, svc := range s.services {
		if svc.fromFile {
			delete(s.services, id)
			for cid, c := range s.checks {
				if c.hc.ServiceID == id {
					s.removeCheckLocked(cid)
				}
			}
		}
	}
	for id, c := range s.checks {
		if c.fromFile {
			s.removeCheckLocked(id)
		}
	}
	s.mu.Unlock()
	for _, def := range services {
		if err := s.AddService(def, false, true); err != nil {
			return fmt.Errorf("Failed reloading services: %w", err)
		}
	}
	for _, def := range cks {
		if err := s.AddCheck(def, true); err != nil {
			return fmt.Errorf("Failed reloading checks: %w", err)
		}
	}
	return nil
}

// sortedKeys gives a deterministic sync order.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
