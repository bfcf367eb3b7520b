package httpapi

import (
	"maps"
	"net/http"
	"slices"
	"sort"

	"github.com/hashicorp/go-memdb"

	"github.com/minconsul/minconsul/structs"
)

// The web UI's two list endpoints, as Consul's UI has them: one blocking
// query answers a whole list page, where the public endpoints would need a
// request per node (1,000 services on 100 nodes: 102 requests and a re-read
// of all of them on every change). Both compose the store's existing reads.

// uiNode is one row of /v1/internal/ui/nodes (Consul's NodeDump shape:
// the node's fields, then its services and checks).
type uiNode struct {
	structs.Node
	Services []*structs.NodeService
	Checks   structs.HealthChecks
}

// uiService is one row of /v1/internal/ui/services: Consul's service
// summary, plus Instances (a minconsul addition) with each instance's Meta,
// so the UI can tell where an instance came from (a Docker container).
type uiService struct {
	Name            string
	Datacenter      string
	Tags            []string
	Nodes           []string
	ExternalSources []string
	InstanceCount   int
	ChecksPassing   int
	ChecksWarning   int
	ChecksCritical  int
	Instances       []uiInstance
}

type uiInstance struct {
	Node string
	ID   string
	Meta map[string]string `json:",omitempty"`
}

// catalogDump reads every node with its services and checks, watching all
// of it, and answers the highest index it saw.
func (s *Server) catalogDump(ws memdb.WatchSet) (uint64, []*uiNode, error) {
	idx, nodes, err := s.store.Nodes(ws)
	if err != nil {
		return 0, nil, err
	}
	cidx, checks, err := s.store.ChecksInState(ws, structs.HealthAny)
	if err != nil {
		return 0, nil, err
	}
	idx = max(idx, cidx)
	byNode := map[string]structs.HealthChecks{}
	for _, c := range checks {
		if c != nil {
			byNode[c.Node] = append(byNode[c.Node], checkView(c))
		}
	}
	out := make([]*uiNode, 0, len(nodes))
	for _, n := range nodes {
		if n == nil {
			continue
		}
		sidx, ns, err := s.store.NodeServices(ws, n.Node)
		if err != nil {
			return 0, nil, err
		}
		idx = max(idx, sidx)
		out = append(out, s.nodeRow(n, ns, byNode[n.Node]))
	}
	return idx, out, nil
}

// nodeRow shapes a node with its services (ns may be nil) and checks.
func (s *Server) nodeRow(n *structs.Node, ns *structs.NodeServices, checks structs.HealthChecks) *uiNode {
	row := &uiNode{Node: *n, Services: []*structs.NodeService{}, Checks: checks}
	if row.Datacenter == "" {
		row.Datacenter = s.cfg.Datacenter
	}
	if row.Checks == nil {
		row.Checks = structs.HealthChecks{}
	}
	if ns != nil {
		for _, svc := range ns.Services {
			row.Services = append(row.Services, withTags(svc))
		}
		sort.Slice(row.Services, func(i, j int) bool { return row.Services[i].ID < row.Services[j].ID })
	}
	return row
}

// readCatalogDump runs catalogDump as the request's (blocking) query.
func (s *Server) readCatalogDump(q *request) ([]*uiNode, error) {
	var nodes []*uiNode
	err := s.read(q, func(ws memdb.WatchSet) (uint64, error) {
		idx, res, err := s.catalogDump(ws)
		nodes = res
		return idx, err
	})
	return nodes, err
}

func (s *Server) uiNodes(q *request) error {
	nodes, err := s.readCatalogDump(q)
	if err != nil {
		return err
	}
	return writeJSON(q, nodes)
}

// uiNodeInfo is /v1/internal/ui/node/<node>: the node with its services and
// checks (404 when unknown, as Consul answers).
func (s *Server) uiNodeInfo(q *request) error {
	name := q.tail
	if name == "" {
		return badRequest("Missing node name")
	}
	var row *uiNode
	err := s.read(q, func(ws memdb.WatchSet) (uint64, error) {
		row = nil
		idx, ns, err := s.store.NodeServices(ws, name)
		if err != nil || ns == nil {
			return idx, err
		}
		cidx, checks, err := s.store.NodeChecks(ws, name)
		if err != nil {
			return 0, err
		}
		row = s.nodeRow(ns.Node, ns, checksWithTags(checks))
		return max(idx, cidx), nil
	})
	if err != nil {
		return err
	}
	if row == nil {
		q.w.WriteHeader(http.StatusNotFound)
		return nil
	}
	return writeJSON(q, row)
}

func (s *Server) uiServices(q *request) error {
	nodes, err := s.readCatalogDump(q)
	if err != nil {
		return err
	}
	return writeJSON(q, summarizeServices(nodes, s.cfg.Datacenter))
}

// summarizeServices counts each distinct check of a service's instances
// once (a node check shared by two instances on one node counts once), as
// Consul's summary does.
func summarizeServices(nodes []*uiNode, dc string) []*uiService {
	type acc struct {
		*uiService
		tags, nodes, sources map[string]bool
		checks               map[string]string // node/checkID -> status
	}
	byName := map[string]*acc{}
	for _, n := range nodes {
		for _, svc := range n.Services {
			a := byName[svc.Service]
			if a == nil {
				a = &acc{uiService: &uiService{Name: svc.Service, Datacenter: dc},
					tags: map[string]bool{}, nodes: map[string]bool{}, sources: map[string]bool{}, checks: map[string]string{}}
				byName[svc.Service] = a
			}
			a.InstanceCount++
			a.Instances = append(a.Instances, uiInstance{Node: n.Node.Node, ID: svc.ID, Meta: svc.Meta})
			for _, t := range svc.Tags {
				a.tags[t] = true
			}
			a.nodes[n.Node.Node] = true
			if src := svc.Meta["external-source"]; src != "" {
				a.sources[src] = true
			}
			for _, c := range n.Checks {
				if c.ServiceID == "" || c.ServiceID == svc.ID {
					a.checks[n.Node.Node+"/"+c.CheckID] = c.Status
				}
			}
		}
	}
	out := make([]*uiService, 0, len(byName))
	for _, a := range byName {
		a.Tags, a.Nodes, a.ExternalSources = slices.Sorted(maps.Keys(a.tags)), slices.Sorted(maps.Keys(a.nodes)), slices.Sorted(maps.Keys(a.sources))
		for _, status := range a.checks {
			switch status {
			case structs.HealthPassing:
				a.ChecksPassing++
			case structs.HealthWarning:
				a.ChecksWarning++
			default:
				a.ChecksCritical++
			}
		}
		out = append(out, a.uiService)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}
