package local

import (
	"fmt"
	"strings"
	"time"

	"github.com/minconsul/minconsul/structs"
)

// Maintenance mode is a critical check the agent registers itself, as
// Consul's: "_node_maintenance" takes the whole node out of DNS and
// passing-only health answers, "_service_maintenance:<id>" one service.
const (
	NodeMaintCheckID     = "_node_maintenance"
	ServiceMaintPrefix   = "_service_maintenance:"
	defaultNodeReason    = "Maintenance mode is enabled for this node, but no reason was provided. This is a default message."
	defaultServiceReason = "Maintenance mode is enabled for this service, but no reason was provided. This is a default message."
)

func isMaintCheck(id string) bool {
	return id == NodeMaintCheckID || strings.HasPrefix(id, ServiceMaintPrefix)
}

// EnableNodeMaintenance puts the node in maintenance (a no-op when it
// already is, as Consul: the first reason stays).
func (s *State) EnableNodeMaintenance(reason string) {
	if reason == "" {
		reason = defaultNodeReason
	}
	s.addMaint(&structs.CheckDefinition{CheckID: NodeMaintCheckID, Name: "Node Maintenance Mode",
		Notes: reason, Status: structs.HealthCritical})
}

// DisableNodeMaintenance ends node maintenance (a no-op when off).
func (s *State) DisableNodeMaintenance() { s.dropMaint(NodeMaintCheckID) }

// EnableServiceMaintenance puts one local service in maintenance.
func (s *State) EnableServiceMaintenance(id, reason string) error {
	if reason == "" {
		reason = defaultServiceReason
	}
	s.mu.Lock()
	_, ok := s.services[id]
	s.mu.Unlock()
	if !ok {
		return structs.NotFound(fmt.Sprintf("No service registered with ID %q", id))
	}
	s.addMaint(&structs.CheckDefinition{CheckID: ServiceMaintPrefix + id, Name: "Service Maintenance Mode",
		Notes: reason, ServiceID: id, Status: structs.HealthCritical})
	return nil
}

// DisableServiceMaintenance ends a service's maintenance.
func (s *State) DisableServiceMaintenance(id string) error {
	s.mu.Lock()
	_, ok := s.services[id]
	s.mu.Unlock()
	if !ok {
		return structs.NotFound(fmt.Sprintf("No service registered with ID %q", id))
	}
	s.dropMaint(ServiceMaintPrefix + id)
	return nil
}

// addMaint registers a maintenance check: no runner, critical until
// removed, persisted like an API check so maintenance survives a restart.
func (s *State) addMaint(def *structs.CheckDefinition) {
	s.mu.Lock()
	if _, on := s.checks[def.CheckID]; on {
		s.mu.Unlock()
		return
	}
	hc := &structs.HealthCheck{Node: s.cfg.NodeName, CheckID: def.CheckID, Name: def.Name, Status: def.Status,
		Notes: def.Notes, ServiceID: def.ServiceID, ServiceTags: []string{}}
	if svc, ok := s.services[def.ServiceID]; ok {
		hc.ServiceName, hc.ServiceTags = svc.def.Service, append([]string{}, svc.def.Tags...)
	}
	c := &check{id: def.CheckID, hc: hc, def: def}
	s.addCheckLocked(c)
	s.mu.Unlock()
	s.persistCheck(c, def)
}

func (s *State) dropMaint(id string) {
	s.mu.Lock()
	_, on := s.checks[id]
	if on {
		s.removeCheckLocked(id)
	}
	s.mu.Unlock()
	if on {
		s.dropCheckFiles(id)
	}
}

// HealthByID answers one local service's health; nil when unknown.
func (s *State) HealthByID(id string) *structs.AgentServiceChecksInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	svc, ok := s.services[id]
	if !ok {
		return nil
	}
	return s.healthLocked(svc)
}

// HealthByName answers the health of every local instance of a service.
func (s *State) HealthByName(name string) []*structs.AgentServiceChecksInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*structs.AgentServiceChecksInfo
	for _, id := range sortedKeys(s.services) {
		if svc := s.services[id]; svc.def.Service == name {
			out = append(out, s.healthLocked(svc))
		}
	}
	return out
}

func (s *State) healthLocked(svc *service) *structs.AgentServiceChecksInfo {
	h := &structs.AgentServiceChecksInfo{Service: s.agentService(svc.def), Checks: structs.HealthChecks{}}
	defer func() { h.AggregatedStatus = h.Checks.AggregatedStatus() }()
	for _, cid := range sortedKeys(s.checks) {
		if c := s.checks[cid].hc; c.ServiceID == svc.def.ID || c.ServiceID == "" {
			cc := *c
			h.Checks = append(h.Checks, &cc)
		}
	}
	return h
}

// startReaper runs, until Close, the loop that deregisters services whose
// check has been critical for longer than its
// DeregisterCriticalServiceAfter.
func (s *State) startReaper() {
	every := s.cfg.ReapInterval
	if every <= 0 {
		every = 30 * time.Second
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-s.ctx.Done():
				return
			case <-t.C:
				s.reap(time.Now())
			}
		}
	}()
}

// reap removes the services due, and asks for a sync when it did.
func (s *State) reap(now time.Time) {
	s.mu.Lock()
	due := map[string]string{}
	for _, c := range s.checks {
		svc := c.hc.ServiceID
		if svc == "" || c.deregAfter <= 0 || c.criticalSince.IsZero() || now.Sub(c.criticalSince) <= c.deregAfter {
			continue
		}
		if _, ok := s.services[svc]; ok {
			due[svc] = c.id
		}
	}
	s.mu.Unlock()
	for _, id := range sortedKeys(due) {
		if err := s.RemoveService(id); err == nil {
			s.logger.Info("Check for service has been critical for too long; deregistered service",
				"service", id, "check", due[id])
		}
	}
	if len(due) > 0 && s.changed != nil {
		s.changed()
	}
}
