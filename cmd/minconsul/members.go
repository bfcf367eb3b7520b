package main

import (
	"encoding/json"
	"fmt"
	"net"
	"regexp"
	"sort"
	"strings"

	"github.com/hashicorp/consul/api"
)

// memberStatus names serf's member states.
func memberStatus(s int) string {
	switch s {
	case 0:
		return "none"
	case 1:
		return "alive"
	case 2:
		return "leaving"
	case 3:
		return "left"
	case 4:
		return "failed"
	}
	return "unknown"
}

func (c *cli) membersCmd(args []string) int {
	var h httpFlags
	var detailed, wan bool
	var status, segment, filter, partition string
	fs := c.newFlags("members")
	fs.BoolVar(&detailed, "detailed", false, "Provides detailed information about nodes.")
	fs.BoolVar(&wan, "wan", false, "If the agent is in server mode, return the other peers in the WAN pool.")
	fs.StringVar(&status, "status", ".*", "If provided, output is filtered to only nodes matching the regular expression for status.")
	fs.StringVar(&segment, "segment", api.AllSegments, "(Enterprise-only) Filter to nodes in the given segment.")
	fs.StringVar(&filter, "filter", "", "Filter to use with the request.")
	fs.StringVar(&partition, "partition", "", "(Enterprise-only) Admin partition.")
	h.client(fs)
	if rc, ok := c.parse(fs, "members [options]", args); !ok {
		return rc
	}
	re, err := regexp.Compile(status)
	if err != nil {
		c.err("Failed to compile status regexp: %v", err)
		return 1
	}
	client, err := h.apiClient()
	if err != nil {
		return connectErr(c, err)
	}
	members, err := client.Agent().MembersOpts(api.MembersOpts{WAN: wan, Segment: segment, Filter: filter})
	if err != nil {
		c.err("Error retrieving members: %s", err)
		return 1
	}
	kept := members[:0]
	for _, m := range members {
		if m.Tags == nil {
			m.Tags = map[string]string{}
		}
		if m.Tags[api.MemberTagKeyPartition] == "" {
			m.Tags[api.MemberTagKeyPartition] = "default"
		}
		if segment == api.AllSegments && m.Tags[api.MemberTagKeyRole] == api.MemberTagValueRoleServer {
			m.Tags[api.MemberTagKeySegment] = "<all>"
		} else if m.Tags[api.MemberTagKeySegment] == "" {
			m.Tags[api.MemberTagKeySegment] = "<default>"
		}
		if re.MatchString(memberStatus(m.Status)) {
			kept = append(kept, m)
		}
	}
	if len(kept) == 0 {
		return 2
	}
	sortMembers(kept)
	var lines []string
	if detailed {
		lines = detailedMembers(kept)
	} else {
		lines = standardMembers(kept)
	}
	c.out("%s", columnize(lines))
	return 0
}

// sortMembers: servers first, then by segment, partition and name.
func sortMembers(ms []*api.AgentMember) {
	sort.SliceStable(ms, func(i, j int) bool {
		a, b := ms[i].Tags, ms[j].Tags
		as, bs := a[api.MemberTagKeyRole] == api.MemberTagValueRoleServer, b[api.MemberTagKeyRole] == api.MemberTagValueRoleServer
		if as != bs {
			return as
		}
		ad, bd := a[api.MemberTagKeyPartition] == "default", b[api.MemberTagKeyPartition] == "default"
		if ad != bd {
			return ad
		}
		if a[api.MemberTagKeySegment] != b[api.MemberTagKeySegment] {
			return a[api.MemberTagKeySegment] < b[api.MemberTagKeySegment]
		}
		if a[api.MemberTagKeyPartition] != b[api.MemberTagKeyPartition] {
			return a[api.MemberTagKeyPartition] < b[api.MemberTagKeyPartition]
		}
		return ms[i].Name < ms[j].Name
	})
}

func memberAddr(m *api.AgentMember) string {
	return (&net.TCPAddr{IP: net.ParseIP(m.Addr), Port: int(m.Port)}).String()
}

func standardMembers(ms []*api.AgentMember) []string {
	lines := []string{"Node\x1fAddress\x1fStatus\x1fType\x1fBuild\x1fProtocol\x1fDC\x1fPartition\x1fSegment"}
	for _, m := range ms {
		t := m.Tags
		build := t["build"]
		if build == "" {
			build = "< 0.3"
		} else if i := strings.Index(build, ":"); i >= 0 {
			build = build[:i]
		}
		typ := "unknown"
		switch t[api.MemberTagKeyRole] {
		case api.MemberTagValueRoleServer:
			typ = "server"
		case api.MemberTagValueRoleClient:
			typ = "client"
		}
		if typ == "unknown" {
			lines = append(lines, strings.Join([]string{m.Name, memberAddr(m), memberStatus(m.Status), typ, "", "", "", "", ""}, "\x1f"))
			continue
		}
		lines = append(lines, strings.Join([]string{m.Name, memberAddr(m), memberStatus(m.Status), typ, build, t["vsn"],
			t[api.MemberTagKeyDatacenter], t[api.MemberTagKeyPartition], t[api.MemberTagKeySegment]}, "\x1f"))
	}
	return lines
}

func detailedMembers(ms []*api.AgentMember) []string {
	lines := []string{"Node\x1fAddress\x1fStatus\x1fTags"}
	for _, m := range ms {
		lines = append(lines, strings.Join([]string{m.Name, memberAddr(m), memberStatus(m.Status), kvList(m.Tags, ",")}, "\x1f"))
	}
	return lines
}

func (c *cli) joinCmd(args []string) int {
	var h httpFlags
	var wan bool
	fs := c.newFlags("join")
	fs.BoolVar(&wan, "wan", false, "Joins a server to another server in the WAN pool.")
	h.client(fs)
	if rc, ok := c.parse(fs, "join [options] address ...", args); !ok {
		return rc
	}
	if fs.NArg() == 0 {
		c.err("At least one address to join must be specified.")
		c.err("")
		c.printHelp(c.stderr, fs, "join [options] address ...")
		return 1
	}
	client, err := h.apiClient()
	if err != nil {
		return connectErr(c, err)
	}
	joins := 0
	for _, addr := range fs.Args() {
		if err := client.Agent().Join(addr, wan); err != nil {
			c.err("Error joining address '%s': %s", addr, err)
			continue
		}
		joins++
	}
	if joins == 0 {
		c.err("Failed to join any nodes.")
		return 1
	}
	c.out("Successfully joined cluster by contacting %d nodes.", joins)
	return 0
}

func (c *cli) leaveCmd(args []string) int {
	var h httpFlags
	fs := c.newFlags("leave")
	h.client(fs)
	if rc, ok := c.parse(fs, "leave [options]", args); !ok {
		return rc
	}
	if fs.NArg() > 0 {
		c.err("Error found unexpected args: %v", fs.Args())
		c.printHelp(c.stdout, fs, "leave [options]")
		return 1
	}
	client, err := h.apiClient()
	if err != nil {
		return connectErr(c, err)
	}
	if err := client.Agent().Leave(); err != nil {
		c.err("Error leaving: %s", err)
		return 1
	}
	c.out("Graceful leave complete")
	return 0
}

func (c *cli) reloadCmd(args []string) int {
	var h httpFlags
	fs := c.newFlags("reload")
	h.client(fs)
	if rc, ok := c.parse(fs, "reload [options]", args); !ok {
		return rc
	}
	client, err := h.apiClient()
	if err != nil {
		return connectErr(c, err)
	}
	if err := client.Agent().Reload(); err != nil {
		c.err("Error reloading: %s", err)
		return 1
	}
	c.out("Configuration reload triggered")
	return 0
}

// versionInfo is `version -format=json`, field for field as Consul.
type versionInfo struct {
	Version    string
	Revision   string
	Prerelease string
	BuildDate  string
	RPC        struct{ Default, Min, Max int }
	// Minconsul is this implementation's own version and revision (from
	// the Go build info) beside the Consul version it speaks.
	Minconsul buildInfo
}

func (c *cli) versionCmd(args []string) int {
	var format string
	fs := c.newFlags("version")
	fs.StringVar(&format, "format", "pretty", "Output format {pretty|json}")
	if rc, ok := c.parse(fs, "version [options]", args); !ok {
		return rc
	}
	info := versionInfo{Version: Version, Revision: Revision, BuildDate: BuildDate, Minconsul: readBuildInfo()}
	info.RPC.Default, info.RPC.Min, info.RPC.Max = 2, 2, 3
	switch format {
	case "pretty":
		var b strings.Builder
		fmt.Fprintf(&b, "Consul v%s\n", Version)
		if Revision != "" {
			fmt.Fprintf(&b, "Revision %s\n", Revision)
		}
		fmt.Fprintf(&b, "Build Date %s\n", BuildDate)
		fmt.Fprintf(&b, "Protocol %d spoken by default, understands %d to %d (agent will automatically use protocol >%d when speaking to compatible agents)\n",
			info.RPC.Default, info.RPC.Min, info.RPC.Max, info.RPC.Default)
		fmt.Fprintf(&b, "%s\n", info.Minconsul)
		fmt.Fprint(c.stdout, b.String())
		// Consul's UI adds a newline after the formatter's own.
		fmt.Fprintln(c.stdout)
	case "json":
		out, err := json.MarshalIndent(info, "", "   ")
		if err != nil {
			c.err("Failed to marshal version info: %v", err)
			return 1
		}
		c.out("%s", out)
	default:
		c.err("Unknown format: %s", format)
		return 1
	}
	return 0
}
