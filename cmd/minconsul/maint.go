package main

import (
	"sort"
	"strings"
)

// maintCmd is `consul maint`: with -enable or -disable it toggles node
// maintenance (or, with -service, one service's); without, it lists what
// is in maintenance on the agent.
func (c *cli) maintCmd(args []string) int {
	var h httpFlags
	var enable, disable bool
	var reason, serviceID string
	fs := c.newFlags("maint")
	fs.BoolVar(&enable, "enable", false, "Enable maintenance mode.")
	fs.BoolVar(&disable, "disable", false, "Disable maintenance mode.")
	fs.StringVar(&reason, "reason", "", "Text describing the maintenance reason.")
	fs.StringVar(&serviceID, "service", "", "Control maintenance mode for a specific service ID.")
	h.client(fs)
	if rc, ok := c.parse(fs, "maint [options]", args); !ok {
		return rc
	}
	switch {
	case enable && disable:
		c.err("Only one of -enable or -disable may be provided")
		return 1
	case !enable && reason != "":
		c.err("Reason may only be provided with -enable")
		return 1
	case !enable && !disable && serviceID != "":
		c.err("Service requires either -enable or -disable")
		return 1
	}
	client, err := h.apiClient()
	if err != nil {
		return connectErr(c, err)
	}
	ag := client.Agent()
	if !enable && !disable {
		self, err := ag.Self()
		if err != nil {
			c.err("Error retrieving agent info: %s", err)
			return 1
		}
		node, _ := self["Config"]["NodeName"].(string)
		checks, err := ag.Checks()
		if err != nil {
			c.err("Error getting checks: %s", err)
			return 1
		}
		ids := make([]string, 0, len(checks))
		for id := range checks {
			ids = append(ids, id)
		}
		sort.Strings(ids)
		for _, id := range ids {
			chk := checks[id]
			switch {
			case id == "_node_maintenance":
				c.out("Node:")
				c.out("  Name:   %s", node)
				c.out("  Reason: %s", chk.Notes)
				c.out("")
			case strings.HasPrefix(id, "_service_maintenance:"):
				c.out("Service:")
				c.out("  ID:     %s", strings.TrimPrefix(id, "_service_maintenance:"))
				c.out("  Reason: %s", chk.Notes)
				c.out("")
			}
		}
		return 0
	}
	if serviceID == "" {
		if enable {
			err = ag.EnableNodeMaintenance(reason)
		} else {
			err = ag.DisableNodeMaintenance()
		}
		if err != nil {
			c.err("Error %s node maintenance: %s", verb(enable), err)
			return 1
		}
		c.out("Node maintenance is now %s", state(enable))
		return 0
	}
	if enable {
		err = ag.EnableServiceMaintenance(serviceID, reason)
	} else {
		err = ag.DisableServiceMaintenance(serviceID)
	}
	if err != nil {
		c.err("Error %s service maintenance: %s", verb(enable), err)
		return 1
	}
	c.out("Service maintenance is now %s for %q", state(enable), serviceID)
	return 0
}

func verb(enable bool) string {
	if enable {
		return "enabling"
	}
	return "disabling"
}

func state(enable bool) string {
	if enable {
		return "enabled"
	}
	return "disabled"
}
