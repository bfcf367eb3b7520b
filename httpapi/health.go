package httpapi

import (
	"context"

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
	f, err := parseFilter(q, structs.CheckServiceNode{})
	if err != nil {
		return err
	}
	req := &structs.ServiceSpecificRequest{ServiceName: name, ServiceTags: q.query["tag"], NodeMetaFilters: parseMetaFilter(q.query)}
	rows, _, err := read(s, q, req, s.backend.CheckServiceNodes)
	if err != nil {
		return err
	}
	if rows, err = apply(f, rows); err != nil {
		return err
	}
	out := make(structs.CheckServiceNodes, 0, len(rows))
	for _, row := range rows {
		if passing && !allPassing(row.Checks) {
			continue
		}
		row.Service = withTags(row.Service)
		row.Checks = checksWithTags(row.Checks)
		out = append(out, row)
	}
	if err := nearSort(s, q, out, func(n structs.CheckServiceNode) string {
		if n.Node == nil {
			return ""
		}
		return n.Node.Node
	}); err != nil {
		return err
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

// readChecks is the health endpoints answering a list of checks: ?filter
// compiled first, then the read, then the filter on its answer.
func readChecks[Q structs.QueryRequest](s *Server, q *request, req Q, fn func(context.Context, Q) (*structs.Indexed[structs.HealthChecks], error)) error {
	f, err := parseFilter(q, (*structs.HealthCheck)(nil))
	if err != nil {
		return err
	}
	checks, _, err := read(s, q, req, fn)
	if err != nil {
		return err
	}
	if checks, err = apply(f, checks); err != nil {
		return err
	}
	out := checksWithTags(checks)
	if err := nearSort(s, q, out, checkNode); err != nil {
		return err
	}
	return writeJSON(q, out)
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

func (s *Server) healthServiceChecks(q *request) error {
	name := q.tail
	if name == "" {
		return badRequest("Missing service name")
	}
	return readChecks(s, q, &structs.ServiceSpecificRequest{ServiceName: name, NodeMetaFilters: parseMetaFilter(q.query)}, s.backend.ServiceChecks)
}

func (s *Server) healthNodeChecks(q *request) error {
	node := q.tail
	if node == "" {
		return badRequest("Missing node name")
	}
	return readChecks(s, q, &structs.NodeSpecificRequest{Node: node}, s.backend.NodeChecks)
}

// healthChecksInState: like Consul, a state other than any, passing,
// warning or critical is not an error; it simply matches no check.
func (s *Server) healthChecksInState(q *request) error {
	state := q.tail
	if state == "" {
		return badRequest("Missing check state")
	}
	return readChecks(s, q, &structs.ChecksInStateRequest{State: state, NodeMetaFilters: parseMetaFilter(q.query)}, s.backend.ChecksInState)
}
