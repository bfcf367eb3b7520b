// Command minconsul is one binary with Consul's agent and the client
// commands people script against (kv, catalog, members, join, leave,
// reload, version). Installed or linked under the name "consul" it behaves
// the same. This package is wiring and CLI only: configuration lives in
// package config, everything the agent does in package agent.
package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Version information; -ldflags "-X main.Version=..." may override.
var (
	Version   = "1.20.0"
	Revision  = ""
	BuildDate = "1970-01-01T00:00:01Z"
)

func main() {
	c := newCLI(os.Stdin, os.Stdout, os.Stderr)
	os.Exit(c.run(filepath.Base(os.Args[0]), os.Args[1:]))
}

// cli holds the process's streams so commands can be tested in-process.
type cli struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	name           string // argv[0] basename, for usage text
	agent          agentRunner
}

func newCLI(stdin io.Reader, stdout, stderr io.Writer) *cli {
	return &cli{stdin: stdin, stdout: stdout, stderr: stderr, name: "consul", agent: defaultAgentRunner()}
}

func (c *cli) out(format string, args ...any) { fmt.Fprintf(c.stdout, format+"\n", args...) }
func (c *cli) err(format string, args ...any) { fmt.Fprintf(c.stderr, format+"\n", args...) }

type command struct {
	synopsis string
	run      func(c *cli, args []string) int
}

func commands() map[string]command {
	return map[string]command{
		"agent":            {"Runs a Consul agent", (*cli).agentCmd},
		"catalog":          {"Interact with the catalog", (*cli).catalogCmd},
		"catalog nodes":    {"Lists all nodes in the given datacenter", (*cli).catalogNodes},
		"catalog services": {"Lists all registered services in a datacenter", (*cli).catalogServices},
		"force-leave":      {"Forces a member of the cluster to enter the \"left\" state", (*cli).forceLeaveCmd},
		"join":             {"Tell Consul agent to join cluster", (*cli).joinCmd},
		"keygen":           {"Generates a new encryption key", (*cli).keygenCmd},
		"keyring":          {"Manages gossip layer encryption keys", (*cli).keyringCmd},
		"kv":               {"Interact with the key-value store", (*cli).kvCmd},
		"kv delete":        {"Removes data from the KV store", (*cli).kvDelete},
		"kv export":        {"Exports a tree from the KV store as JSON", (*cli).kvExport},
		"kv get":           {"Retrieves or lists data from the KV store", (*cli).kvGet},
		"kv import":        {"Imports a tree stored as JSON to the KV store", (*cli).kvImport},
		"kv put":           {"Sets or updates data in the KV store", (*cli).kvPut},
		"leave":            {"Gracefully leaves the Consul cluster and shuts down", (*cli).leaveCmd},
		"maint":            {"Controls node or service maintenance mode", (*cli).maintCmd},
		"lock":             {"Execute a command holding a lock", (*cli).lockCmd},
		"members":          {"Lists the members of a Consul cluster", (*cli).membersCmd},
		"operator":         {"Provides cluster-level tools for Consul operators", (*cli).operatorCmd},
		"operator raft":    {"Provides cluster-level tools for Consul operators", (*cli).operatorRaftCmd},
		"registrator":      {"Registers Docker containers' ports with an agent, as gliderlabs/registrator", (*cli).registratorCmd},
		"reload":           {"Triggers the agent to reload configuration files", (*cli).reloadCmd},
		"snapshot":         {"Saves, restores and inspects snapshots of Consul server state", (*cli).snapshotCmd},
		"snapshot inspect": {"Displays information about a Consul snapshot file", (*cli).snapshotInspect},
		"snapshot restore": {"Restores snapshot of Consul server state", (*cli).snapshotRestore},
		"snapshot save":    {"Saves snapshot of Consul server state", (*cli).snapshotSave},
		"version":          {"Prints the Consul version", (*cli).versionCmd},
		"event":            {"Fire a new event", (*cli).eventCmd},
		"watch":            {"Watch for changes in Consul", (*cli).watchCmd},
		"info":             {"Provides debugging information for operators.", (*cli).infoCmd},
		"monitor":          {"Stream logs from a Consul agent", (*cli).monitorCmd},
		"rtt":              {"Estimates network round trip time between nodes", (*cli).rttCmd},

		// Names longer than the column above sit apart, so gofmt keeps it.
		"catalog datacenters": {"Lists all known datacenters", (*cli).catalogDatacenters},
	}
}

// run dispatches argv (without argv[0]) and returns the exit code.
func (c *cli) run(name string, args []string) int {
	if name != "" {
		c.name = name
	}
	if len(args) == 0 {
		c.usage(c.stderr, "")
		return 127
	}
	switch args[0] {
	case "-v", "-version", "--version":
		return c.versionCmd(nil)
	case "-h", "-help", "--help", "help":
		c.usage(c.stdout, "")
		return 0
	}
	// "minconsul -bootstrap ..." is "minconsul agent -bootstrap ...".
	if strings.HasPrefix(args[0], "-") {
		return c.agentCmd(args)
	}
	cmds := commands()
	// The longest "noun verb" prefix names the command.
	if len(args) > 1 {
		if cmd, ok := cmds[args[0]+" "+args[1]]; ok {
			return cmd.run(c, args[2:])
		}
	}
	if cmd, ok := cmds[args[0]]; ok {
		return cmd.run(c, args[1:])
	}
	c.usage(c.stderr, "")
	return 127
}

// usage lists the commands under prefix ("" for the top level).
func (c *cli) usage(w io.Writer, prefix string) {
	cmds := commands()
	names := make([]string, 0, len(cmds))
	width := 0
	for n := range cmds {
		sub := n
		if prefix != "" {
			if !strings.HasPrefix(n, prefix+" ") {
				continue
			}
			sub = strings.TrimPrefix(n, prefix+" ")
		} else if strings.Contains(n, " ") {
			continue
		}
		names = append(names, n)
		if len(sub) > width {
			width = len(sub)
		}
	}
	sort.Strings(names)
	if prefix == "" {
		fmt.Fprintf(w, "Usage: %s [--version] [--help] <command> [<args>]\n\nAvailable commands are:\n", c.name)
	} else {
		fmt.Fprintf(w, "Usage: %s %s <subcommand> [options] [args]\n\nSubcommands:\n", c.name, prefix)
	}
	for _, n := range names {
		sub := strings.TrimPrefix(n, prefix+" ")
		fmt.Fprintf(w, "    %-*s    %s\n", width, sub, cmds[n].synopsis)
	}
}

func (c *cli) kvCmd(args []string) int {
	c.usage(c.stderr, "kv")
	return 1
}

func (c *cli) catalogCmd(args []string) int {
	c.usage(c.stderr, "catalog")
	return 1
}
