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
	if svc := args.Service; svc != nil {
		if svc.ID == "" && svc.Service != "" {
			svc.ID = svc.Service
		}
		if svc.Service == "" {
			return nil, badRequest("Must provide service name with ID")
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
	if err := s.checkDC(q); err != nil {
		return err
	}
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
	if err := s.checkDC(q); err != nil {
		return err
	}
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
	nodes, _, err := read(s, q, &structs.DCSpecificRequest{NodeMetaFilters: parseMetaFilter(q.query)}, s.backend.Nodes)
	if err != nil {
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
	services, _, err := read(s, q, &structs.DCSpecificRequest{NodeMetaFilters: parseMetaFilter(q.query)}, s.backend.Services)
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
	req := &structs.ServiceSpecificRequest{ServiceName: name, ServiceTags: q.query["tag"], NodeMetaFilters: parseMetaFilter(q.query)}
	rows, _, err := read(s, q, req, s.backend.ServiceNodes)
	if err != nil {
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
	ns, _, err := read(s, q, &structs.NodeSpecificRequest{Node: node}, s.backend.NodeServices)
	if err != nil {
		return err
	}
	if ns == nil {
		// Consul answers 200 with a JSON null for an unknown node.
		return writeJSON(q, (*structs.NodeServices)(nil))
	}
	out := &structs.NodeServices{Node: ns.Node, Services: make(map[string]*structs.NodeService, len(ns.Services))}
	for id, svc := range ns.Services {
		out.Services[id] = withTags(svc)
	}
	return writeJSON(q, out)
}

func (s *Server) catalogNodeServiceList(q *request) error {
	node := q.tail
	if node == "" {
		return badRequest("Missing node name")
	}
	ns, _, err := read(s, q, &structs.NodeSpecificRequest{Node: node}, s.backend.NodeServices)
	if err != nil {
		return err
	}
	// An unknown node gives {"Node":null,"Services":null}, as Consul.
	var out structs.NodeServiceList
	if ns != nil {
		out.Node = ns.Node
		out.Services = make([]*structs.NodeService, 0, len(ns.Services))
		for _, svc := range ns.Services {
			out.Services = append(out.Services, withTags(svc))
		}
		sort.Slice(out.Services, func(i, j int) bool { return out.Services[i].ID < out.Services[j].ID })
	}
	return writeJSON(q, &out)
}
