package local

import (
	"context"
	"fmt"
	"sync"
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

// remoteAlias is what a remote alias check last learnt of its target:
// the node's checks and whether the aliased service is registered there,
// each kept current by its own blocking query.
type remoteAlias struct {
	mu         sync.Mutex
	checks     structs.HealthChecks
	haveChecks bool
	exists     bool // unknown (never answered, or failing) counts as existing, as Consul
	haveExists bool
	err        error // the checks query's last failure, while it fails
	failures   int
}

// runRemoteAlias follows another node's checks in the catalog with a
// blocking query, as Consul's alias check; and, for a service alias,
// whether that service exists there with a second blocking query on the
// node's services, so that a service without checks appearing or leaving
// is seen when it happens rather than at the next check change.
func (s *State) runRemoteAlias(ctx context.Context, c *check) {
	v := &remoteAlias{exists: true, haveExists: c.alias.serviceID == ""}
	poke := make(chan struct{}, 1)
	changed := func(update func()) {
		v.mu.Lock()
		update()
		v.mu.Unlock()
		select {
		case poke <- struct{}{}:
		default:
		}
	}
	var wg sync.WaitGroup
	defer wg.Wait()
	wg.Add(1)
	go func() {
		defer wg.Done()
		blockingWatch(ctx, func(opts structs.QueryOptions) (uint64, error) {
			res, err := s.catalog.NodeChecks(ctx, &structs.NodeSpecificRequest{Node: c.alias.node, QueryOptions: opts})
			if err != nil {
				return 0, err
			}
			changed(func() { v.checks, v.haveChecks, v.err, v.failures = res.Value, true, nil, 0 })
			return res.Index, nil
		}, func(err error, failures int) {
			changed(func() { v.err, v.failures = err, failures })
		})
	}()
	if c.alias.serviceID != "" {
		wg.Add(1)
		go func() {
			defer wg.Done()
			blockingWatch(ctx, func(opts structs.QueryOptions) (uint64, error) {
				res, err := s.catalog.NodeServices(ctx, &structs.NodeSpecificRequest{Node: c.alias.node, QueryOptions: opts})
				if err != nil {
					return 0, err
				}
				ok := res.Value != nil && res.Value.Services[c.alias.serviceID] != nil
				changed(func() { v.exists, v.haveExists = ok, true })
				return res.Index, nil
			}, func(error, int) {
				changed(func() { v.exists, v.haveExists = true, true })
			})
		}()
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-poke:
		}
		v.mu.Lock()
		var status, out string
		switch {
		case v.err != nil && v.failures > 1:
			status, out = structs.HealthCritical, fmt.Sprintf("Failure checking aliased node or service: %s", v.err)
		case v.haveChecks && v.haveExists:
			status, out = aliasStatus(c.alias, v.checks, v.exists)
		}
		v.mu.Unlock()
		if status != "" {
			s.report(c, func(string) (string, string) { return status, out })
		}
	}
}

// blockingWatch runs query as a stale blocking query (Consul's alias
// checks read stale) from index 0 on, each time from the index it last
// answered, until ctx ends. failed hears of each error with the count of
// consecutive ones; after three, it backs off exponentially (1 s up to a
// minute), as Consul's alias check.
func blockingWatch(ctx context.Context, query func(structs.QueryOptions) (uint64, error), failed func(error, int)) {
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
		idx, err := query(structs.QueryOptions{MinIndex: index, MaxWait: aliasMaxWait, Consistency: structs.ConsistencyStale})
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			failures++
			failed(err, failures)
			continue
		}
		failures = 0
		// Never index 0 again: a store that answered 0 must not turn this
		// into a busy loop.
		index = max(idx, 1)
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
