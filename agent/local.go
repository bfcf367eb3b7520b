package agent

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/minconsul/minconsul/structs"
)

// Consul truncates check output to check_output_max_size (4 KiB).
const maxCheckOutput = 4096

// localService is a service this agent owns; the catalog copy is derived
// from it on every sync.
type localService struct {
	def      *structs.NodeService
	fromFile bool // registered by a config file: replaced on reload
}

// localCheck is a check this agent owns and runs.
type localCheck struct {
	hc       *structs.HealthCheck
	def      *structs.CheckDefinition
	ttl      time.Duration
	runner   checkRunner
	fromFile bool

	timer  *time.Timer        // TTL deadline
	cancel context.CancelFunc // probe loop
}

// ServiceRegister validates a definition, records it with its checks
// (replacing an earlier registration with the same ID) and syncs it into
// the catalog.
func (a *Agent) ServiceRegister(ctx context.Context, def *structs.ServiceDefinition, replaceExistingChecks bool) error {
	return a.serviceRegister(ctx, def, replaceExistingChecks, false, true)
}

// serviceRegister records a service; with sync it also writes it to the
// catalog before returning (start-up registrations leave that to the sync
// loop, which runs once there is a leader).
func (a *Agent) serviceRegister(ctx context.Context, def *structs.ServiceDefinition, replace, fromFile, sync bool) error {
	ns, checks, err := a.validateService(def)
	if err != nil {
		return err
	}
	for _, c := range checks {
		a.restoreCheckState(c)
	}
	a.mu.Lock()
	if old, ok := a.services[ns.ID]; ok && old.def != nil {
		ns.CreateIndex = old.def.CreateIndex
	}
	ls := &localService{def: ns, fromFile: fromFile}
	a.services[ns.ID] = ls
	keep := map[string]bool{}
	for _, c := range checks {
		keep[c.hc.CheckID] = true
		c.fromFile = fromFile
		a.addCheckLocked(c)
	}
	var dropped []string
	if replace {
		for id, c := range a.checks {
			if c.hc.ServiceID == ns.ID && !keep[id] {
				a.removeCheckLocked(id)
				dropped = append(dropped, id)
			}
		}
	}
	a.mu.Unlock()
	if !fromFile {
		a.persistService(ls, def)
	}
	for _, id := range dropped {
		a.dropCheckFiles(id)
	}
	a.logger.Debug("service registered", "service", ns.ID, "checks", len(checks))
	if sync {
		a.syncNow(ctx)
	} else {
		a.kick()
	}
	return nil
}

// validateService turns a definition into the catalog's NodeService and
// its checks, with Consul's defaults and messages.
func (a *Agent) validateService(def *structs.ServiceDefinition) (*structs.NodeService, []*localCheck, error) {
	if def == nil {
		return nil, nil, structs.BadRequest("Request decode failed: empty body")
	}
	if def.Name == "" {
		return nil, nil, structs.BadRequest("Missing service name")
	}
	if def.Port < 0 || def.Port > 65535 {
		return nil, nil, structs.BadRequest(fmt.Sprintf("Invalid service port: %d", def.Port))
	}
	ns := &structs.NodeService{
		ID: def.ID, Service: def.Name, Tags: append([]string{}, def.Tags...), Address: def.Address,
		TaggedAddresses: def.TaggedAddresses, Meta: map[string]string{}, Port: def.Port,
		EnableTagOverride: def.EnableTagOverride, Weights: structs.Weights{Passing: 1, Warning: 1},
	}
	if ns.ID == "" {
		ns.ID = ns.Service
	}
	for k, v := range def.Meta {
		if k == "" {
			return nil, nil, structs.BadRequest("Invalid Service Meta: Key cannot be blank")
		}
		ns.Meta[k] = v
	}
	if def.Weights != nil {
		if def.Weights.Passing < 1 {
			return nil, nil, structs.BadRequest("Passing must be greater than 0")
		}
		if def.Weights.Warning < 0 {
			return nil, nil, structs.BadRequest("Warning must be greater or equal than 0")
		}
		ns.Weights = *def.Weights
	}
	var defs []*structs.CheckDefinition
	if def.Check != nil {
		defs = append(defs, def.Check)
	}
	defs = append(defs, def.Checks...)
	var checks []*localCheck
	for i, cd := range defs {
		if cd == nil {
			continue
		}
		c := *cd
		c.ServiceID = ns.ID
		if c.CheckID == "" && c.ID == "" {
			c.CheckID = "service:" + ns.ID
			if len(defs) > 1 {
				c.CheckID = fmt.Sprintf("service:%s:%d", ns.ID, i+1)
			}
		}
		if c.Name == "" {
			c.Name = fmt.Sprintf("Service '%s' check", ns.Service)
		}
		lc, err := a.validateCheck(&c, ns)
		if err != nil {
			return nil, nil, err
		}
		checks = append(checks, lc)
	}
	return ns, checks, nil
}

// validateCheck builds a runnable check from a definition.
func (a *Agent) validateCheck(def *structs.CheckDefinition, svc *structs.NodeService) (*localCheck, error) {
	id := def.CheckID
	if id == "" {
		id = def.ID
	}
	if def.Name == "" {
		return nil, structs.BadRequest("Missing check name")
	}
	if id == "" {
		id = def.Name
	}
	status := def.Status
	if status == "" {
		status = structs.HealthCritical
	}
	if !validStatus(status) {
		return nil, structs.BadRequest(fmt.Sprintf("Status for checks must 'passing', 'warning', 'critical'"))
	}
	hc := &structs.HealthCheck{
		Node: a.cfg.NodeName, CheckID: id, Name: def.Name, Status: status, Notes: def.Notes,
		ServiceID: def.ServiceID, ServiceTags: []string{},
		Definition: structs.HealthCheckDefinition{
			HTTP: def.HTTP, Header: def.Header, Method: def.Method, Body: def.Body, TCP: def.TCP,
			Interval: def.Interval, Timeout: def.Timeout, TTL: def.TTL,
			DeregisterCriticalServiceAfter: def.DeregisterCriticalServiceAfter,
		},
	}
	if svc != nil {
		hc.ServiceName, hc.ServiceTags = svc.Service, append([]string{}, svc.Tags...)
	}
	lc := &localCheck{hc: hc, def: def}
	parse := func(field, v string) (time.Duration, error) {
		if v == "" {
			return 0, nil
		}
		d, err := time.ParseDuration(v)
		if err != nil {
			return 0, structs.BadRequest(fmt.Sprintf("Invalid check %s: %q: %v", field, v, err))
		}
		return d, nil
	}
	ttl, err := parse("TTL", def.TTL)
	if err != nil {
		return nil, err
	}
	interval, err := parse("Interval", def.Interval)
	if err != nil {
		return nil, err
	}
	timeout, err := parse("Timeout", def.Timeout)
	if err != nil {
		return nil, err
	}
	if _, err := parse("DeregisterCriticalServiceAfter", def.DeregisterCriticalServiceAfter); err != nil {
		return nil, err
	}
	args := def.ScriptArgs
	if len(args) == 0 {
		args = def.Args
	}
	switch {
	case def.TTL != "":
		if ttl <= 0 {
			return nil, structs.BadRequest("TTL must be > 0 for TTL checks")
		}
		hc.Type, lc.ttl = "ttl", ttl
	case def.HTTP != "" || def.TCP != "" || len(args) > 0:
		if interval <= 0 {
			return nil, structs.BadRequest("Interval must be > 0 for Script, HTTP, H2PING, or TCP checks")
		}
		if timeout <= 0 {
			timeout = 10 * time.Second
		}
		hc.Interval, hc.Timeout = interval.String(), timeout.String()
		switch {
		case def.HTTP != "":
			hc.Type, lc.runner = "http", &httpCheck{url: def.HTTP, method: def.Method, header: def.Header, body: def.Body, interval: interval, timeout: timeout, skipVerify: def.TLSSkipVerify}
		case def.TCP != "":
			hc.Type, lc.runner = "tcp", &tcpCheck{addr: def.TCP, interval: interval, timeout: timeout}
		default:
			if !a.cfg.EnableScriptChecks {
				return nil, structs.BadRequest("Scripts are disabled on this agent; to enable, configure 'enable_script_checks' or 'enable_local_script_checks' to true")
			}
			hc.Type, lc.runner = "script", &scriptCheck{args: args, interval: interval, timeout: timeout}
		}
	case def.DockerContainerID != "":
		return nil, structs.BadRequest("Docker checks are not supported by minconsul")
	default:
		return nil, structs.BadRequest("Invalid check: TTL, HTTP, TCP or ScriptArgs must be set")
	}
	return lc, nil
}

func validStatus(s string) bool {
	return s == structs.HealthPassing || s == structs.HealthWarning || s == structs.HealthCritical
}

// ServiceDeregister removes a local service and its checks.
func (a *Agent) ServiceDeregister(ctx context.Context, id string) error {
	a.mu.Lock()
	if _, ok := a.services[id]; !ok {
		a.mu.Unlock()
		return structs.NotFound(fmt.Sprintf("Unknown service ID %q. Ensure that the service ID is passed, not the service name.", id))
	}
	delete(a.services, id)
	var gone []string
	for cid, c := range a.checks {
		if c.hc.ServiceID == id {
			a.removeCheckLocked(cid)
			gone = append(gone, cid)
		}
	}
	a.mu.Unlock()
	a.unpersistService(id)
	// Its checks go with it, also those registered on their own.
	for _, cid := range gone {
		a.dropCheckFiles(cid)
	}
	a.syncNow(ctx)
	return nil
}

// CheckRegister adds a node-level or service-level check.
func (a *Agent) CheckRegister(ctx context.Context, def *structs.CheckDefinition) error {
	return a.checkRegister(ctx, def, false, true)
}

func (a *Agent) checkRegister(ctx context.Context, def *structs.CheckDefinition, fromFile, sync bool) error {
	if def == nil {
		return structs.BadRequest("Request decode failed: empty body")
	}
	var svc *structs.NodeService
	if def.ServiceID != "" {
		a.mu.Lock()
		s, ok := a.services[def.ServiceID]
		a.mu.Unlock()
		if !ok {
			return structs.BadRequest(fmt.Sprintf("ServiceID %q does not exist", def.ServiceID))
		}
		svc = s.def
	}
	lc, err := a.validateCheck(def, svc)
	if err != nil {
		return err
	}
	lc.fromFile = fromFile
	a.restoreCheckState(lc)
	a.mu.Lock()
	a.addCheckLocked(lc)
	a.mu.Unlock()
	if !fromFile {
		a.persistCheck(lc, def)
	}
	if sync {
		a.syncNow(ctx)
	} else {
		a.kick()
	}
	return nil
}

// CheckDeregister removes a local check.
func (a *Agent) CheckDeregister(ctx context.Context, id string) error {
	a.mu.Lock()
	if _, ok := a.checks[id]; !ok {
		a.mu.Unlock()
		return structs.NotFound(fmt.Sprintf("Unknown check ID %q. Ensure that the check ID is passed, not the check name.", id))
	}
	a.removeCheckLocked(id)
	a.mu.Unlock()
	a.dropCheckFiles(id)
	a.syncNow(ctx)
	return nil
}

// CheckUpdateTTL records a TTL check's status (check/pass|warn|fail|update).
func (a *Agent) CheckUpdateTTL(ctx context.Context, id, status, output string) error {
	if !validStatus(status) {
		return structs.BadRequest(fmt.Sprintf("Invalid check status: %q", status))
	}
	a.mu.Lock()
	c, ok := a.checks[id]
	if !ok {
		a.mu.Unlock()
		return structs.NotFound(fmt.Sprintf("Unknown check ID %q. Ensure that the check ID is passed, not the check name.", id))
	}
	if c.ttl == 0 {
		a.mu.Unlock()
		return fmt.Errorf("CheckID %q does not have associated TTL", id)
	}
	c.resetTTL()
	changed := a.setStatusLocked(id, status, output)
	expires := time.Now().Add(c.ttl)
	a.mu.Unlock()
	a.persistCheckState(c, expires)
	if changed {
		a.syncNow(ctx)
	}
	return nil
}

// setStatusLocked updates a check's status; reports whether it changed.
func (a *Agent) setStatusLocked(id, status, output string) bool {
	c, ok := a.checks[id]
	if !ok {
		return false
	}
	if len(output) > maxCheckOutput {
		output = output[:maxCheckOutput] + "\n\n... (captured output truncated)"
	}
	if c.hc.Status == status && c.hc.Output == output {
		return false
	}
	hc := *c.hc
	hc.Status, hc.Output = status, output
	c.hc = &hc
	return true
}

func (a *Agent) addCheckLocked(c *localCheck) {
	if old, ok := a.checks[c.hc.CheckID]; ok {
		old.stop()
	}
	a.checks[c.hc.CheckID] = c
	a.startCheckLocked(c)
}

func (a *Agent) removeCheckLocked(id string) {
	if c, ok := a.checks[id]; ok {
		c.stop()
		delete(a.checks, id)
	}
}

// Services lists local services as /v1/agent/services shows them.
func (a *Agent) Services() map[string]*structs.AgentService {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make(map[string]*structs.AgentService, len(a.services))
	for id, s := range a.services {
		out[id] = a.agentService(s.def)
	}
	return out
}

// Service returns one local service.
func (a *Agent) Service(id string) (*structs.AgentService, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	s, ok := a.services[id]
	if !ok {
		return nil, structs.NotFound(fmt.Sprintf("unknown service ID: %s", id))
	}
	return a.agentService(s.def), nil
}

func (a *Agent) agentService(ns *structs.NodeService) *structs.AgentService {
	return &structs.AgentService{
		ID: ns.ID, Service: ns.Service, Tags: ns.Tags, Meta: ns.Meta, Port: ns.Port, Address: ns.Address,
		TaggedAddresses: ns.TaggedAddresses, Weights: ns.Weights, EnableTagOverride: ns.EnableTagOverride,
		Datacenter: a.cfg.Datacenter,
	}
}

// Checks lists local checks.
func (a *Agent) Checks() map[string]*structs.HealthCheck {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make(map[string]*structs.HealthCheck, len(a.checks))
	for id, c := range a.checks {
		hc := *c.hc
		out[id] = &hc
	}
	return out
}

// sortedServiceIDs is used for deterministic sync order.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
