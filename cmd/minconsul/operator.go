package main

import (
	"fmt"
	"strings"

	"github.com/hashicorp/consul/api"
)

func (c *cli) operatorCmd(args []string) int {
	c.usage(c.stderr, "operator")
	return 1
}

// operatorRaftCmd dispatches the third word ("operator raft list-peers"):
// run() resolves at most two.
func (c *cli) operatorRaftCmd(args []string) int {
	if len(args) > 0 {
		switch args[0] {
		case "list-peers":
			return c.operatorRaftListPeers(args[1:])
		case "remove-peer":
			return c.operatorRaftRemovePeer(args[1:])
		case "transfer-leader":
			return c.operatorRaftTransferLeader(args[1:])
		}
	}
	fmt.Fprintf(c.stderr, "Usage: %s operator raft <subcommand> [options]\n\nSubcommands:\n", c.name)
	fmt.Fprintf(c.stderr, "    list-peers         Display the current Raft peer configuration\n")
	fmt.Fprintf(c.stderr, "    remove-peer        Remove a Consul server from the Raft configuration\n")
	fmt.Fprintf(c.stderr, "    transfer-leader    Transfer Raft leadership to another Consul server\n")
	return 1
}

// operatorRaftListPeers prints Consul's table (Node ID Address State Voter
// RaftProtocol).
func (c *cli) operatorRaftListPeers(args []string) int {
	var h httpFlags
	fs := c.newFlags("operator raft list-peers")
	h.client(fs)
	h.server(fs)
	if rc, ok := c.parse(fs, "operator raft list-peers [options]", args); !ok {
		return rc
	}
	client, err := h.apiClient()
	if err != nil {
		// Not connectErr: Consul's operator raft commands word it this way.
		c.err("Error initializing client: %s", err)
		return 1
	}
	reply, err := client.Operator().RaftGetConfiguration(h.queryOptions())
	if err != nil {
		c.err("Error getting peers: Failed to retrieve raft configuration: %v", err)
		return 1
	}
	c.out("%s", formatPeers(reply))
	return 0
}

func formatPeers(reply *api.RaftConfiguration) string {
	lines := []string{"Node\x1fID\x1fAddress\x1fState\x1fVoter\x1fRaftProtocol"}
	for _, s := range reply.Servers {
		proto := s.ProtocolVersion
		if proto == "" {
			proto = "<=1"
		}
		state := "follower"
		if s.Leader {
			state = "leader"
		}
		lines = append(lines, strings.Join([]string{s.Node, s.ID, s.Address, state, fmt.Sprint(s.Voter), proto}, "\x1f"))
	}
	return columnize(lines)
}

func (c *cli) operatorRaftRemovePeer(args []string) int {
	var h httpFlags
	var address, id string
	fs := c.newFlags("operator raft remove-peer")
	fs.StringVar(&address, "address", "", "The address to remove from the Raft configuration.")
	fs.StringVar(&id, "id", "", "The ID to remove from the Raft configuration.")
	h.client(fs)
	h.server(fs)
	if rc, ok := c.parse(fs, "operator raft remove-peer [options]", args); !ok {
		return rc
	}
	client, err := h.apiClient()
	if err != nil {
		// Not connectErr: Consul's operator raft commands word it this way.
		c.err("Error initializing client: %s", err)
		return 1
	}
	switch {
	case address == "" && id == "":
		err = fmt.Errorf("an address or id is required for the peer to remove")
	case address != "" && id != "":
		err = fmt.Errorf("cannot give both an address and id")
	case address != "":
		err = client.Operator().RaftRemovePeerByAddress(address, nil)
	default:
		err = client.Operator().RaftRemovePeerByID(id, nil)
	}
	if err != nil {
		c.err("Error removing peer: %v", err)
		return 1
	}
	if address != "" {
		c.out("Removed peer with address %q", address)
	} else {
		c.out("Removed peer with id %q", id)
	}
	return 0
}

// operatorRaftTransferLeader asks the leader to hand over leadership (to
// -id, or to any other voter).
func (c *cli) operatorRaftTransferLeader(args []string) int {
	var h httpFlags
	var id string
	fs := c.newFlags("operator raft transfer-leader")
	fs.StringVar(&id, "id", "", "The ID of the server to transfer leadership to.")
	h.client(fs)
	h.server(fs)
	if rc, ok := c.parse(fs, "operator raft transfer-leader [options]", args); !ok {
		return rc
	}
	client, err := h.apiClient()
	if err != nil {
		c.err("Error initializing client: %s", err)
		return 1
	}
	res, err := client.Operator().RaftLeaderTransfer(id, nil)
	if err != nil {
		c.err("Error transferring leadership: %v", err)
		return 1
	}
	c.out("Success: %t", res.Success)
	return 0
}

func (c *cli) forceLeaveCmd(args []string) int {
	var h httpFlags
	var prune, wan bool
	fs := c.newFlags("force-leave")
	fs.BoolVar(&prune, "prune", false, "Remove agent completely from list of members.")
	fs.BoolVar(&wan, "wan", false, "Exclusively leave the agent from the WAN serf pool.")
	h.client(fs)
	h.server(fs)
	const usage = "force-leave [options] name"
	if rc, ok := c.parse(fs, usage, args); !ok {
		return rc
	}
	if fs.NArg() != 1 {
		c.err("A single node name must be specified to force leave.")
		c.err("")
		c.printHelp(c.stderr, fs, usage)
		return 1
	}
	client, err := h.apiClient()
	if err != nil {
		return connectErr(c, err)
	}
	if err := client.Agent().ForceLeaveOpts(fs.Arg(0), api.ForceLeaveOpts{Prune: prune, WAN: wan}); err != nil {
		c.err("Error force leaving: %s", err)
		return 1
	}
	return 0
}
