package main

import (
	"github.com/hashicorp/consul/api"
)

// eventCmd is `consul event`: fire a user event through the local agent.
func (c *cli) eventCmd(args []string) int {
	var h httpFlags
	var name, node, service, tag string
	fs := c.newFlags("event")
	fs.StringVar(&name, "name", "", "Name of the event.")
	fs.StringVar(&node, "node", "", "Regular expression to filter on node names.")
	fs.StringVar(&service, "service", "", "Regular expression to filter on service instances.")
	fs.StringVar(&tag, "tag", "", "Regular expression to filter on service tags. Must be used with -service.")
	h.client(fs)
	h.server(fs)
	if rc, ok := c.parse(fs, "event [options] [payload]", args); !ok {
		return rc
	}
	if name == "" {
		c.err("Event name must be specified")
		return 1
	}
	if tag != "" && service == "" {
		c.err("Cannot provide tag filter without service filter.")
		return 1
	}
	var payload []byte
	switch fs.NArg() {
	case 0:
	case 1:
		payload = []byte(fs.Arg(0))
	default:
		c.err("Too many command line arguments.")
		return 1
	}
	client, err := h.apiClient()
	if err != nil {
		return connectErr(c, err)
	}
	if _, err := client.Agent().NodeName(); err != nil {
		c.err("Error querying Consul agent: %s", err)
		return 1
	}
	id, _, err := client.Event().Fire(&api.UserEvent{Name: name, Payload: payload,
		NodeFilter: node, ServiceFilter: service, TagFilter: tag}, nil)
	if err != nil {
		c.err("Error firing event: %s", err)
		return 1
	}
	c.out("Event ID: %s", id)
	return 0
}
