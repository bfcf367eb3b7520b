package httpapi

import (
	"maps"
	"net/http"
	"slices"
	"sort"

	"github.com/minconsul/minconsul/structs"
)

// The web UI's two list endpoints, as Consul's UI has them: one blocking
// query answers a whole list page, where the public endpoints would need a
// request per node (1,000 services on 100 nodes: 102 requests and a re-read
// of all of them on every change). Both are reads of the backend contract
// (NodeDump, NodeInfo), as Consul's are Internal RPCs.

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

// nodeRow shapes a node with its services and checks as the UI reads them.
func (s *Server) nodeRow(info *structs.NodeInfo) *uiNode {
	row := &uiNode{Node: *info.Node, Services: make([]*structs.NodeService, 0, len(info.Services)), Checks: checksWithTags(info.Checks)}
	if row.Datacenter == "" {
		row.Datacenter = s.cfg.Datacenter
	}
	for _, svc := range info.Services {
		row.Services = append(row.Services, withTags(svc))
	}
	return row
}

// readCatalogDump reads every node with its services and checks as the
// request's (blocking) query.
func (s *Server) readCatalogDump(q *request) ([]*uiNode, error) {
	dump, _, err := read(s, q, &structs.DCSpecificRequest{}, s.backend.NodeDump)
	if err != nil {
		return nil, err
	}
	out := make([]*uiNode, 0, len(dump))
	for _, info := range dump {
		out = append(out, s.nodeRow(info))
	}
	return out, nil
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
	info, _, err := read(s, q, &structs.NodeSpecificRequest{Node: name}, s.backend.NodeInfo)
	if err != nil {
		return err
	}
	if info == nil {
		q.w.WriteHeader(http.StatusNotFound)
		return nil
	}
	return writeJSON(q, s.nodeRow(info))
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
