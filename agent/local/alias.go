package local

import (
	"context"
	"fmt"
	"time"

	"github.com/minconsul/minconsul/structs"
)

// An alias check mirrors the health of another service instance (or of
// a node): critical if any of its checks is critical, else warning if any
// warns, else passing. Without AliasNode it watches this agent's own
// state, poked on every local change; with AliasNode it follows that
// node's checks in the catalog with blocking queries, as Consul does.

type aliasTarget struct {
	node      string // "" is this agent's local state
	serviceID string
}

const (
	// aliasRefresh bounds the time between two recomputations when no
	// change was signalled (Consul: one minute).
	aliasRefresh = time.Minute
	// aliasMaxWait is a remote alias's blocking-query wait.
	aliasMaxWait = time.Minute
)

// notifyAliasesLocked pokes every local alias check.
func (s *State) notifyAliasesLocked() {
	for _, ch := range s.aliases {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
}

func (s *State) runAlias(ctx context.Context, c *check) {
	if c.alias.node != "" {
		s.runRemoteAlias(ctx, c)
		return
	}
	poke := make(chan struct{}, 1)
	s.mu.Lock()
	s.aliases[c] = poke
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.aliases, c)
		s.mu.Unlock()
	}()
	refresh := time.NewTimer(0)
	defer refresh.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-poke:
		case <-refresh.C:
		}
		s.mu.Lock()
		list := make(structs.HealthChecks, 0, len(s.checks))
		for _, id := range sortedKeys(s.checks) {
			if other := s.checks[id]; other != c {
				list = append(list, other.hc)
			}
		}
		_, exists := s.services[c.alias.serviceID]
		s.mu.Unlock()
		status, out := aliasStatus(c.alias, list, exists)
		s.report(c, func(string) (string, string) { return status, out })
		refresh.Reset(aliasRefresh)
	}
}

func (s *State) runRemoteAlias(ctx context.Context, c *check) {
	var index uint64
	failures := 0
	for ctx.Err() == nil {
		if failures > 3 {
			wait := min(time.Duration(1)<<min(failures-3, 6)*time.Second, time.Minute)
			select {
			case <-ctx.Done():
				return
			case <-time.After(wait):
			}
		}
		req := &structs.NodeSpecificRequest{Node: c.alias.node, QueryOptions: structs.QueryOptions{
			MinIndex: index, MaxWait: aliasMaxWait, Consistency: structs.ConsistencyStale}}
		res, err := s.catalog.NodeChecks(ctx, req)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			failures++
			if failures > 1 {
				s.report(c, func(string) (string, string) {
					return structs.HealthCritical, fmt.Sprintf("Failure checking aliased node or service: %s", err)
				})
			}
			continue
		}
		failures = 0
		index = max(res.Index, 1)
		exists := true // unknown counts as existing, as Consul
		if c.alias.serviceID != "" {
			if ns, err := s.catalog.NodeServices(ctx, &structs.NodeSpecificRequest{Node: c.alias.node, QueryOptions: stale()}); err == nil {
				exists = ns.Value != nil && ns.Value.Services[c.alias.serviceID] != nil
			}
		}
		status, out := aliasStatus(c.alias, res.Value, exists)
		s.report(c, func(string) (string, string) { return status, out })
	}
}

// aliasStatus folds the target's checks into one status and output, with
// Consul's texts. Node-level checks count for a service too; exists says
// whether the service is there when none of its checks are.
func aliasStatus(t *aliasTarget, list structs.HealthChecks, exists bool) (string, string) {
	status, out := structs.HealthPassing, "No checks found."
	found := false
	for _, c := range list {
		if t.node != "" && c.Node != t.node {
			continue
		}
		match := c.ServiceID == t.serviceID
		if c.ServiceID != "" && !match {
			continue
		}
		found = found || match
		switch c.Status {
		case structs.HealthCritical, structs.HealthWarning:
			if status != structs.HealthCritical {
				status, out = c.Status, fmt.Sprintf("Aliased check %q failing: %s", c.Name, c.Output)
			}
		default:
			if status == structs.HealthPassing {
				out = "All checks passing."
			}
		}
	}
	if !found && !exists {
		return structs.HealthCritical, fmt.Sprintf("Service %s could not be found on node %s", t.serviceID, t.node)
	}
	return status, out
}
