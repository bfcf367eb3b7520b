package main

import (
	"bytes"
	"fmt"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/hashicorp/consul/api"
)

// mapFlag is Consul's repeatable key=value flag (-node-meta).
type mapFlag map[string]string

func (m *mapFlag) String() string { return "" }
func (m *mapFlag) Set(v string) error {
	k, val, ok := strings.Cut(v, "=")
	if !ok {
		return fmt.Errorf("missing '=' in %q", v)
	}
	if *m == nil {
		*m = map[string]string{}
	}
	(*m)[k] = val
	return nil
}

func (c *cli) catalogServices(args []string) int {
	var h httpFlags
	var node string
	var meta mapFlag
	var tags bool
	fs := c.newFlags("catalog services")
	fs.StringVar(&node, "node", "", "Node `id or name` for which to list services.")
	fs.Var(&meta, "node-meta", "Metadata to filter nodes with the given `key=value` pairs. Repeatable.")
	fs.BoolVar(&tags, "tags", false, "Display each service's tags as a comma-separated list beside each service entry.")
	h.client(fs)
	h.server(fs)
	if rc, ok := c.parse(fs, "catalog services [options]", args); !ok {
		return rc
	}
	if fs.NArg() > 0 {
		return tooMany(c, "0", fs.NArg())
	}
	client, err := h.apiClient()
	if err != nil {
		return connectErr(c, err)
	}
	q := h.queryOptions()
	q.NodeMeta = meta
	var services map[string][]string
	if node != "" {
		n, _, err := client.Catalog().Node(node, q)
		if err != nil {
			c.err("Error listing services for node: %s", err)
			return 1
		}
		if n != nil {
			services = make(map[string][]string, len(n.Services))
			for _, s := range n.Services {
				services[s.Service] = append(services[s.Service], s.Tags...)
			}
		}
	} else {
		services, _, err = client.Catalog().Services(q)
		if err != nil {
			c.err("Error listing services: %s", err)
			return 1
		}
	}
	if len(services) == 0 {
		c.err("No services match the given query - try expanding your search.")
		return 0
	}
	names := make([]string, 0, len(services))
	for n := range services {
		names = append(names, n)
	}
	sort.Strings(names)
	if !tags {
		for _, n := range names {
			c.out("%s", n)
		}
		return 0
	}
	var b bytes.Buffer
	tw := tabwriter.NewWriter(&b, 0, 2, 6, ' ', 0)
	for _, n := range names {
		t := append([]string(nil), services[n]...)
		sort.Strings(t)
		fmt.Fprintf(tw, "%s\t%s\n", n, strings.Join(t, ","))
	}
	tw.Flush()
	c.out("%s", strings.TrimSpace(b.String()))
	return 0
}

func (c *cli) catalogNodes(args []string) int {
	var h httpFlags
	var detailed bool
	var near, service, filter string
	var meta mapFlag
	fs := c.newFlags("catalog nodes")
	fs.BoolVar(&detailed, "detailed", false, "Output detailed information about the nodes including their addresses and metadata.")
	fs.StringVar(&near, "near", "", "Node name to sort the node list by estimated round-trip time from.")
	fs.Var(&meta, "node-meta", "Metadata to filter nodes with the given `key=value` pairs. Repeatable.")
	fs.StringVar(&service, "service", "", "Service `id or name` to filter nodes.")
	fs.StringVar(&filter, "filter", "", "Filter to use with the request.")
	h.client(fs)
	h.server(fs)
	if rc, ok := c.parse(fs, "catalog nodes [options]", args); !ok {
		return rc
	}
	if fs.NArg() > 0 {
		return tooMany(c, "0", fs.NArg())
	}
	client, err := h.apiClient()
	if err != nil {
		return connectErr(c, err)
	}
	q := h.queryOptions()
	q.Near, q.NodeMeta, q.Filter = near, meta, filter
	var nodes []*api.Node
	if service != "" {
		svcs, _, err := client.Catalog().Service(service, "", q)
		if err != nil {
			c.err("Error listing nodes for service: %s", err)
			return 1
		}
		for _, s := range svcs {
			nodes = append(nodes, &api.Node{ID: s.ID, Node: s.Node, Address: s.Address, Datacenter: s.Datacenter,
				TaggedAddresses: s.TaggedAddresses, Meta: s.NodeMeta, CreateIndex: s.CreateIndex, ModifyIndex: s.ModifyIndex})
		}
	} else {
		nodes, _, err = client.Catalog().Nodes(q)
		if err != nil {
			c.err("Error listing nodes: %s", err)
			return 1
		}
	}
	if len(nodes) == 0 {
		c.err("No nodes match the given query - try expanding your search.")
		return 0
	}
	lines := []string{"Node\x1fID\x1fAddress\x1fDC"}
	if detailed {
		lines[0] = "Node\x1fID\x1fAddress\x1fDC\x1fTaggedAddresses\x1fMeta"
	}
	for _, n := range nodes {
		if detailed {
			lines = append(lines, strings.Join([]string{n.Node, n.ID, n.Address, n.Datacenter,
				kvList(n.TaggedAddresses, ", "), kvList(n.Meta, ", ")}, "\x1f"))
			continue
		}
		id := n.ID
		if i := strings.Index(id, "-"); i > 0 {
			id = id[:i] // first group of the UUID, as Consul
		}
		lines = append(lines, strings.Join([]string{n.Node, id, n.Address, n.Datacenter}, "\x1f"))
	}
	c.out("%s", columnize(lines))
	return 0
}

// kvList renders a map as "k=v" pairs sorted by key and joined by sep.
func kvList(m map[string]string, sep string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + m[k]
	}
	return strings.Join(parts, sep)
}

// catalogDatacenters is `consul catalog datacenters`: one name a line.
func (c *cli) catalogDatacenters(args []string) int {
	var h httpFlags
	fs := c.newFlags("catalog datacenters")
	h.client(fs)
	if rc, ok := c.parse(fs, "catalog datacenters [options]", args); !ok {
		return rc
	}
	if fs.NArg() > 0 {
		return tooMany(c, "0", fs.NArg())
	}
	client, err := h.apiClient()
	if err != nil {
		return connectErr(c, err)
	}
	dcs, err := client.Catalog().Datacenters()
	if err != nil {
		c.err("Error listing datacenters: %s", err)
		return 1
	}
	if len(dcs) == 0 {
		c.err("No datacenters found")
		return 1
	}
	for _, dc := range dcs {
		c.out("%s", dc)
	}
	return 0
}
