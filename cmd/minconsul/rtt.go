package main

import (
	"github.com/minconsul/minconsul/structs"
)

// rttCmd is `consul rtt node1 [node2]`: the estimated round trip between
// two nodes from their LAN coordinates (node2 defaults to the agent's own
// node).
func (c *cli) rttCmd(args []string) int {
	var h httpFlags
	var wan bool
	fs := c.newFlags("rtt")
	fs.BoolVar(&wan, "wan", false, "Use WAN coordinates instead of LAN coordinates.")
	h.client(fs)
	if rc, ok := c.parse(fs, "rtt [options] node1 [node2]", args); !ok {
		return rc
	}
	nodes := fs.Args()
	if len(nodes) < 1 || len(nodes) > 2 {
		c.err("One or two node names must be specified")
		return 1
	}
	if wan {
		c.err("Error: WAN coordinates are not supported by minconsul (one datacenter, no WAN pool)")
		return 1
	}
	client, err := h.apiClient()
	if err != nil {
		return connectErr(c, err)
	}
	if len(nodes) < 2 {
		name, err := client.Agent().NodeName()
		if err != nil {
			c.err("Unable to look up agent info: %s", err)
			return 1
		}
		nodes = append(nodes, name)
	}
	entries, _, err := client.Coordinate().Nodes(nil)
	if err != nil {
		c.err("Error getting coordinates: %s", err)
		return 1
	}
	var coords [2]*structs.Coordinate
	for i, n := range nodes {
		for _, e := range entries {
			if e.Node == n {
				coords[i] = e.Coord
			}
		}
		if coords[i] == nil {
			c.err("Could not find a coordinate for node %q", n)
			return 1
		}
	}
	c.out("Estimated %s <-> %s rtt: %.3f ms (using LAN coordinates)", nodes[0], nodes[1], structs.RTT(coords[0], coords[1])*1000)
	return 0
}
