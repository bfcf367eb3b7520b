package httpapi

import (
	"github.com/hashicorp/go-memdb"

	"github.com/minconsul/minconsul/structs"
)

func (s *Server) healthServiceNodes(q *request) error {
	name := q.tail
	if name == "" {
		return badRequest("Missing service name")
	}
	// Consul parses ?passing after its RPC; parsing first answers the same
	// 400 without waiting on a blocking query.
	passing, err := boolParam(q.query, structs.HealthPassing)
	if err != nil {
		return badRequest("Invalid value for ?passing")
	}
	tags := q.query["tag"]
	filters := parseMetaFilter(q.query)
	var rows structs.CheckServiceNodes
	err = s.read(q, func(ws memdb.WatchSet) (uint64, error) {
		idx, res, err := s.store.CheckServiceNodes(ws, name, tags)
		rows = res
		return idx, err
	})
	if err != nil {
		return err
	}
	out := make(structs.CheckServiceNodes, 0, len(rows))
	for _, row := range rows {
		if len(filters) > 0 && (row.Node == nil || !metaMatches(row.Node.Meta, filters)) {
			continue
		}
		if passing && !allPassing(row.Checks) {
			continue
		}
		row.Service = withTags(row.Service)
		row.Checks = checksWithTags(row.Checks)
		out = append(out, row)
	}
	return writeJSON(q, out)
}

// allPassing is Consul's ?passing filter: warning counts as not passing.
func allPassing(checks structs.HealthChecks) bool {
	for _, c := range checks {
		if c != nil && c.Status != structs.HealthPassing {
			return false
		}
	}
	return true
}

// checksWithTags returns checks with [] for nil lists and nil ServiceTags,
// copying instead of touching the store's objects.
func checksWithTags(checks structs.HealthChecks) structs.HealthChecks {
	out := make(structs.HealthChecks, 0, len(checks))
	for _, c := range checks {
		if c == nil {
			continue
		}
		out = append(out, checkView(c))
	}
	return out
}

// checkView returns c, or a copy whose nil ServiceTags became [] (Consul
// never answers null tags). The store's objects are never modified.
func checkView(c *structs.HealthCheck) *structs.HealthCheck {
	if c == nil || c.ServiceTags != nil {
		return c
	}
	cc := *c
	cc.ServiceTags = []string{}
	return &cc
}

// filterChecksByNodeMeta keeps checks whose node's meta matches, reading
// (and watching) each node once.
func (s *Server) filterChecksByNodeMeta(ws memdb.WatchSet, idx uint64, checks structs.HealthChecks, filters map[string]string) (uint64, structs.HealthChecks, error) {
	if len(filters) == 0 {
		return idx, checks, nil
	}
	match := map[string]bool{}
	out := checks[:0:0]
	for _, c := range checks {
		if c == nil {
			continue
		}
		ok, seen := match[c.Node]
		if !seen {
			nidx, n, err := s.store.GetNode(ws, c.Node)
			if err != nil {
				return 0, nil, err
			}
			idx = max(idx, nidx)
			ok = n != nil && metaMatches(n.Meta, filters)
			match[c.Node] = ok
		}
		if ok {
			out = append(out, c)
		}
	}
	return idx, out, nil
}

func (s *Server) healthServiceChecks(q *request) error {
	name := q.tail
	if name == "" {
		return badRequest("Missing service name")
	}
	filters := parseMetaFilter(q.query)
	var checks structs.HealthChecks
	err := s.read(q, func(ws memdb.WatchSet) (uint64, error) {
		idx, res, err := s.store.ServiceChecks(ws, name)
		if err != nil {
			return 0, err
		}
		idx, checks, err = s.filterChecksByNodeMeta(ws, idx, res, filters)
		return idx, err
	})
	if err != nil {
		return err
	}
	return writeJSON(q, checksWithTags(checks))
}

func (s *Server) healthNodeChecks(q *request) error {
	node := q.tail
	if node == "" {
		return badRequest("Missing node name")
	}
	var checks structs.HealthChecks
	err := s.read(q, func(ws memdb.WatchSet) (uint64, error) {
		idx, res, err := s.store.NodeChecks(ws, node)
		checks = res
		return idx, err
	})
	if err != nil {
		return err
	}
	return writeJSON(q, checksWithTags(checks))
}

// healthChecksInState: like Consul, a state other than any, passing,
// warning or critical is not an error; it simply matches no check.
func (s *Server) healthChecksInState(q *request) error {
	state := q.tail
	if state == "" {
		return badRequest("Missing check state")
	}
	filters := parseMetaFilter(q.query)
	var checks structs.HealthChecks
	err := s.read(q, func(ws memdb.WatchSet) (uint64, error) {
		idx, res, err := s.store.ChecksInState(ws, state)
		if err != nil {
			return 0, err
		}
		idx, checks, err = s.filterChecksByNodeMeta(ws, idx, res, filters)
		return idx, err
	})
	if err != nil {
		return err
	}
	return writeJSON(q, checksWithTags(checks))
}
