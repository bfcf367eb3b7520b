package httpapi

import (
	"fmt"
	"io"
	"sort"

	"github.com/minconsul/minconsul/structs"
)

// decodeRegister decodes and validates a catalog registration (an
// api.CatalogRegistration body) and fills Consul's defaults, so that a bad
// request never reaches Apply.
func decodeRegister(body io.Reader, dc string) (*structs.RegisterRequest, error) {
	var args structs.RegisterRequest
	if err := decodeBody(body, &args); err != nil {
		return nil, err
	}
	if args.Datacenter == "" {
		args.Datacenter = dc
	}
	if args.Node == "" {
		return nil, badRequest("Must provide node")
	}
	if args.Address == "" && !args.SkipNodeUpdate {
		return nil, badRequest("Must provide address if SkipNodeUpdate is not set")
	}
	// Node meta may carry Consul's own consul-* keys (a registration
	// copied from a catalog answer has consul-network-segment); service
	// meta may not, as Consul.
	if err := structs.ValidateMeta(args.NodeMeta, true); err != nil {
		return nil, badRequest("Invalid Node Meta: " + err.Error())
	}
	if svc := args.Service; svc != nil {
		if svc.ID == "" && svc.Service != "" {
			svc.ID = svc.Service
		}
		if svc.Service == "" {
			return nil, badRequest("Must provide service name with ID")
		}
		if err := structs.ValidateMeta(svc.Meta, false); err != nil {
			return nil, badRequest("Invalid Service Meta: " + err.Error())
		}
		if svc.Tags == nil {
			svc.Tags = []string{}
		}
	}
	// Like Consul, fold the single Check into Checks.
	if args.Check != nil {
		args.Checks = append(args.Checks, args.Check)
		args.Check = nil
	}
	checks := args.Checks[:0]
	for _, chk := range args.Checks {
		if chk == nil {
			continue
		}
		if chk.Node == "" {
			chk.Node = args.Node
		}
		if chk.Node != args.Node {
			return nil, badRequest(fmt.Sprintf("Check node %q does not match register node %q", chk.Node, args.Node))
		}
		if chk.CheckID == "" {
			chk.CheckID = chk.Name
		}
		if chk.CheckID == "" {
			return nil, badRequest("Missing check ID")
		}
		switch chk.Status {
		case "":
			chk.Status = structs.HealthCritical
		case structs.HealthPassing, structs.HealthWarning, structs.HealthCritical, structs.HealthMaint:
		default:
			return nil, badRequest(fmt.Sprintf("Invalid check status: '%s'", chk.Status))
		}
		if chk.ServiceID != "" && args.Service != nil && chk.ServiceID == args.Service.ID && chk.ServiceName == "" {
			chk.ServiceName = args.Service.Service
		}
		checks = append(checks, chk)
	}
	if len(checks) == 0 {
		checks = nil
	}
	args.Checks = checks
	return &args, nil
}

// decodeDeregister decodes and validates a catalog deregistration.
func decodeDeregister(body io.Reader, dc string) (*structs.DeregisterRequest, error) {
	var args structs.DeregisterRequest
	if err := decodeBody(body, &args); err != nil {
		return nil, err
	}
	if args.Datacenter == "" {
		args.Datacenter = dc
	}
	if args.Node == "" {
		return nil, badRequest("Must provide node")
	}
	return &args, nil
}

func (s *Server) catalogRegister(q *request) error {
	args, err := decodeRegister(q.r.Body, s.cfg.Datacenter)
	if err != nil {
		return err
	}
	idx, _, err := s.backend.Apply(q.r.Context(), structs.Command{Type: structs.CatalogRegister, Register: args})
	if err != nil {
		return fmt.Errorf("catalog register %q: %w", args.Node, err)
	}
	return writeBool(q, idx, true)
}

func (s *Server) catalogDeregister(q *request) error {
	args, err := decodeDeregister(q.r.Body, s.cfg.Datacenter)
	if err != nil {
		return err
	}
	idx, _, err := s.backend.Apply(q.r.Context(), structs.Command{Type: structs.CatalogDeregister, Deregister: args})
	if err != nil {
		return fmt.Errorf("catalog deregister %q: %w", args.Node, err)
	}
	return writeBool(q, idx, true)
}

func (s *Server) catalogDatacenters(q *request) error {
	return writeJSON(q, []string{s.cfg.Datacenter})
}

func (s *Server) catalogNodes(q *request) error {
	f, err := parseFilter(q, (*structs.Node)(nil))
	if err != nil {
		return err
	}
	nodes, _, err := read(s, q, &structs.DCSpecificRequest{NodeMetaFilters: parseMetaFilter(q.query)}, s.backend.Nodes)
	if err != nil {
		return err
	}
	if nodes, err = apply(f, nodes); err != nil {
		return err
	}
	if err := nearSort(s, q, nodes, func(n *structs.Node) string { return n.Node }); err != nil {
		return err
	}
	if nodes == nil {
		nodes = structs.Nodes{}
	}
	return writeJSON(q, nodes)
}

func (s *Server) catalogServices(q *request) error {
	f, err := parseFilter(q, (*structs.ServiceNode)(nil))
	if err != nil {
		return err
	}
	req := &structs.DCSpecificRequest{NodeMetaFilters: parseMetaFilter(q.query)}
	var services map[string][]string
	if f == nil {
		services, _, err = read(s, q, req, s.backend.Services)
	} else {
		services, err = filteredServices(s, q, req, f)
	}
	if err != nil {
		return err
	}
	out := make(map[string][]string, len(services))
	for name, tags := range services {
		if tags == nil {
			tags = []string{}
		}
		out[name] = tags
	}
	return writeJSON(q, out)
}

func (s *Server) catalogServiceNodes(q *request) error {
	name := q.tail
	if name == "" {
		return badRequest("Missing service name")
	}
	f, err := parseFilter(q, (*structs.ServiceNode)(nil))
	if err != nil {
		return err
	}
	req := &structs.ServiceSpecificRequest{ServiceName: name, ServiceTags: q.query["tag"], NodeMetaFilters: parseMetaFilter(q.query)}
	rows, _, err := read(s, q, req, s.backend.ServiceNodes)
	if err != nil {
		return err
	}
	if rows, err = apply(f, rows); err != nil {
		return err
	}
	out := make(structs.ServiceNodes, 0, len(rows))
	for _, sn := range rows {
		if sn.ServiceTags == nil {
			c := *sn
			c.ServiceTags = []string{}
			sn = &c
		}
		out = append(out, sn)
	}
	if err := nearSort(s, q, out, func(n *structs.ServiceNode) string { return n.Node }); err != nil {
		return err
	}
	return writeJSON(q, out)
}

// withTags returns svc, or a copy whose nil Tags became [] (Consul never
// answers null tags). The store's objects are never modified.
func withTags(svc *structs.NodeService) *structs.NodeService {
	if svc == nil || svc.Tags != nil {
		return svc
	}
	c := *svc
	c.Tags = []string{}
	return &c
}

func (s *Server) catalogNodeServices(q *request) error {
	node := q.tail
	if node == "" {
		return badRequest("Missing node name")
	}
	// The filter applies to the node's services (as Consul's does).
	f, err := parseFilter(q, (*structs.NodeService)(nil))
	if err != nil {
		return err
	}
	ns, _, err := read(s, q, &structs.NodeSpecificRequest{Node: node}, s.backend.NodeServices)
	if err != nil {
		return err
	}
	if ns == nil {
		// Consul answers 200 with a JSON null for an unknown node.
		return writeJSON(q, (*structs.NodeServices)(nil))
	}
	services, err := apply(f, ns.Services)
	if err != nil {
		return err
	}
	out := &structs.NodeServices{Node: ns.Node, Services: make(map[string]*structs.NodeService, len(services))}
	for id, svc := range services {
		out.Services[id] = withTags(svc)
	}
	return writeJSON(q, out)
}

func (s *Server) catalogNodeServiceList(q *request) error {
	node := q.tail
	if node == "" {
		return badRequest("Missing node name")
	}
	f, err := parseFilter(q, (*structs.NodeService)(nil))
	if err != nil {
		return err
	}
	ns, _, err := read(s, q, &structs.NodeSpecificRequest{Node: node}, s.backend.NodeServices)
	if err != nil {
		return err
	}
	// An unknown node gives {"Node":null,"Services":null}, as Consul.
	var out structs.NodeServiceList
	if ns != nil {
		services, err := apply(f, ns.Services)
		if err != nil {
			return err
		}
		out.Node = ns.Node
		out.Services = make([]*structs.NodeService, 0, len(services))
		for _, svc := range services {
			out.Services = append(out.Services, withTags(svc))
		}
		sort.Slice(out.Services, func(i, j int) bool { return out.Services[i].ID < out.Services[j].ID })
	}
	return writeJSON(q, &out)
}

// filteredServices is /v1/catalog/services?filter=: as Consul, the filter
// selects service instances (ServiceNode selectors), then the answer lists
// the names and tags of those that matched.
func filteredServices(s *Server, q *request, req *structs.DCSpecificRequest, f *filter) (map[string][]string, error) {
	rows, _, err := read(s, q, req, s.backend.AllServiceNodes)
	if err != nil {
		return nil, err
	}
	if rows, err = apply(f, rows); err != nil {
		return nil, err
	}
	sets := structs.ServiceTagSets{}
	for _, r := range rows {
		sets.Add(r.ServiceName, r.ServiceTags)
	}
	return sets.Sorted(), nil
}
