package config

import (
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"sort"
	"strconv"
	"strings"
	"time"
)

// flagValues is what the command line says. Values that can also come
// from files land in cfg (the highest-precedence source).
type flagValues struct {
	cfg          rawConfig
	dev          *bool
	paths        []string // -config-file and -config-dir, in order
	configFormat *string
	hcl          []string
	ignored      []string // flags accepted for compatibility, unused
}

// ignoredFlags are Consul agent flags minconsul accepts (and validates)
// but does not act on; using one produces a warning.
var ignoredFlagNames = []string{
	"advertise-wan", "allow-write-http-from", "alt-domain",
	"default-query-time", "disable-host-node-id", "disable-keyring-file",
	"enable-local-script-checks", "grpc-port", "grpc-tls-port", "https-port",
	"join-wan", "log-file", "log-rotate-bytes", "log-rotate-duration", "log-rotate-max-files",
	"max-query-time", "non-voting-server", "pid-file", "primary-gateway",
	"protocol", "raft-protocol", "rejoin", "retry-interval-wan", "retry-join-wan",
	"retry-max-wan", "segment", "serf-lan-bind", "serf-wan-bind", "serf-wan-port",
	"syslog", "ui-content-path", "ui-dir",
}

// newFlagSet builds the agent's flag set; no global state.
func newFlagSet(fv *flagValues) *flag.FlagSet {
	fs := flag.NewFlagSet("agent", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	c := &fv.cfg

	fs.Var(boolPtr{&fv.dev}, "dev", "Starts the agent in development mode (in-memory state, UI on, -bootstrap).")
	fs.Var(boolPtr{&c.Server}, "server", "Switches agent to server mode (minconsul default: true; -server=false for a client).")
	fs.Var(boolPtr{&c.Bootstrap}, "bootstrap", "Sets server to bootstrap mode.")
	fs.Var(intPtr{p: &c.BootstrapExpect, min: 0, max: 1 << 16}, "bootstrap-expect", "Sets server to expect bootstrap mode.")
	fs.Var(strPtr{&c.NodeName}, "node", "Name of this node. Must be unique in the cluster.")
	fs.Var(strPtr{&c.NodeID}, "node-id", "A unique ID (UUID) for this node across space and time.")
	fs.Var(strPtr{&c.Datacenter}, "datacenter", "Datacenter of the agent.")
	fs.Var(strPtr{&c.Domain}, "domain", "Domain to use for DNS interface.")
	fs.Var(strPtr{&c.DataDir}, "data-dir", "Path to a data directory to store agent state.")
	fs.Var(ipPtr{&c.BindAddr}, "bind", "Sets the bind address for cluster communication.")
	fs.Var(ipPtr{&c.AdvertiseAddr}, "advertise", "Sets the advertise address to use.")
	fs.Var(strPtr{&c.ClientAddr}, "client", "Sets the address to bind for client access (HTTP, DNS).")
	fs.Var(intPtr{p: &c.HTTPPort, max: 65535}, "http-port", "Sets the HTTP API port to listen on.")
	fs.Var(intPtr{p: &c.DNSPort, max: 65535}, "dns-port", "DNS port to use.")
	fs.Var(intPtr{p: &c.ServerPort, max: 65535}, "server-port", "Sets the server port to listen on.")
	fs.Var(intPtr{p: &c.SerfLANPort, max: 65535}, "serf-lan-port", "Sets the Serf LAN port to listen on.")
	fs.Var(strSlice{&c.StartJoin}, "join", "Address of an agent to join at start time. Can be specified multiple times.")
	fs.Var(strSlice{&c.RetryJoin}, "retry-join", "Address of an agent to join at start time with retries enabled. Can be specified multiple times.")
	fs.Var(durPtr{&c.RetryInterval}, "retry-interval", "Time to wait between join attempts.")
	fs.Var(intPtr{p: &c.RetryMax, max: 1 << 30}, "retry-max", "Maximum number of join attempts. 0 retries indefinitely.")
	fs.Var(strSlice{&c.Recursors}, "recursor", "Address of an upstream DNS server. Can be specified multiple times.")
	fs.Var(strSlice{&fv.paths}, "config-file", "Path to a file in JSON or HCL format. Can be specified multiple times.")
	fs.Var(strSlice{&fv.paths}, "config-dir", "Path to a directory of *.json and *.hcl files, read in lexical order. Can be specified multiple times.")
	fs.Var(strPtr{&fv.configFormat}, "config-format", "Config files are in this format irrespective of their extension: 'hcl' or 'json'.")
	fs.Var(strSlice{&fv.hcl}, "hcl", "HCL config fragment. Can be specified multiple times.")
	fs.Var(strPtr{&c.LogLevel}, "log-level", "Log level of the agent (trace, debug, info, warn, error).")
	fs.Var(boolPtr{&c.LogJSON}, "log-json", "Output logs in JSON format.")
	fs.Var(boolPtr{&c.UIEnabled}, "ui", "Enables the built-in web UI server.")
	fs.Var(boolPtr{&c.EnableScriptChecks}, "enable-script-checks", "Enables health check scripts.")
	fs.Var(intPtr{p: &c.CheckOutputMaxSize, min: -1 << 31, max: 1<<31 - 1}, "check_output_max_size", "Sets the maximum output size for checks on this agent.")
	fs.Var(boolPtr{&c.LeaveOnTerminate}, "leave-on-terminate", "Leave the cluster gracefully on SIGTERM.")
	fs.Var(boolPtr{&c.Docker}, "docker", "Register the published ports of this host's Docker containers as services (on by itself with -dev when a Docker engine answers; -docker=false turns it off).")
	fs.Var(strPtr{&c.DockerHost}, "docker-host", "Docker engine address for -docker (default: DOCKER_HOST, else unix:///var/run/docker.sock).")
	fs.Var(strSlice{&c.NodeMetaFlags}, "node-meta", "An arbitrary metadata key/value pair for this node, of the format `key:value`. Can be specified multiple times.")
	fs.Var(keyValue{&c.Security.Encrypt}, "encrypt", "Provides the gossip encryption key (base64 of 16, 24 or 32 bytes; `minconsul keygen` makes one).")
	fs.Var(strSlice{&c.DockerLabels}, "docker-label", "Only register containers with this label (key or key=value). Can be specified multiple times.")

	// Accepted for compatibility; values still validated by type.
	var sink struct {
		s  *string
		b  *bool
		i  *int
		d  *time.Duration
		ss []string
	}
	for _, name := range ignoredFlagNames {
		switch name {
		case "disable-host-node-id", "disable-keyring-file", "enable-local-script-checks",
			"non-voting-server", "rejoin", "syslog":
			fs.Var(boolPtr{&sink.b}, name, "Accepted for compatibility with Consul; ignored by minconsul.")
		case "grpc-port", "grpc-tls-port", "https-port", "serf-wan-port":
			fs.Var(intPtr{p: &sink.i, min: -1, max: 65535}, name, "Accepted for compatibility with Consul; ignored by minconsul.")
		case "protocol", "raft-protocol", "retry-max-wan", "log-rotate-max-files":
			fs.Var(intPtr{p: &sink.i, min: -1, max: 1 << 30}, name, "Accepted for compatibility with Consul; ignored by minconsul.")
		case "log-rotate-bytes":
			fs.Var(intPtr{p: &sink.i, min: 0, max: 1<<31 - 1}, name, "Accepted for compatibility with Consul; ignored by minconsul.")
		case "retry-interval-wan", "log-rotate-duration", "default-query-time", "max-query-time":
			fs.Var(durPtr{&sink.d}, name, "Accepted for compatibility with Consul; ignored by minconsul.")
		case "join-wan", "retry-join-wan", "allow-write-http-from", "primary-gateway":
			fs.Var(strSlice{&sink.ss}, name, "Accepted for compatibility with Consul; ignored by minconsul.")
		case "advertise-wan", "serf-lan-bind", "serf-wan-bind":
			fs.Var(ipPtr{&sink.s}, name, "Accepted for compatibility with Consul; ignored by minconsul.")
		default:
			fs.Var(strPtr{&sink.s}, name, "Accepted for compatibility with Consul; ignored by minconsul.")
		}
	}
	return fs
}

// parseFlags parses the agent's arguments. Positional arguments are an
// error, as in Consul.
func parseFlags(args []string) (*flagValues, error) {
	fv := &flagValues{}
	fs := newFlagSet(fv)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, err
		}
		return nil, fmt.Errorf("command line: %w", err)
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("command line: unexpected argument %q (flags must come before it)", fs.Arg(0))
	}
	ignored := map[string]bool{}
	for _, n := range ignoredFlagNames {
		ignored[n] = true
	}
	fs.Visit(func(f *flag.Flag) {
		if ignored[f.Name] {
			fv.ignored = append(fv.ignored, f.Name)
		}
	})
	sort.Strings(fv.ignored)
	if fv.configFormat != nil && *fv.configFormat != "json" && *fv.configFormat != "hcl" {
		return nil, errors.New("command line: -config-format must be either 'hcl' or 'json'")
	}
	return fv, nil
}

// Usage returns the agent flags' help text.
func Usage() string {
	var b strings.Builder
	fs := newFlagSet(&flagValues{})
	fs.SetOutput(&b)
	fs.PrintDefaults()
	return b.String()
}

type strPtr struct{ p **string }

func (v strPtr) String() string {
	if v.p == nil || *v.p == nil {
		return ""
	}
	return **v.p
}
func (v strPtr) Set(s string) error { *v.p = &s; return nil }

type ipPtr struct{ p **string }

func (v ipPtr) String() string { return strPtr(v).String() }
func (v ipPtr) Set(s string) error {
	if net.ParseIP(s) == nil {
		return fmt.Errorf("%q is not an IP address", s)
	}
	*v.p = &s
	return nil
}

type keyValue struct{ p **string }

func (v keyValue) String() string { return strPtr(v).String() }
func (v keyValue) Set(s string) error {
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return fmt.Errorf("invalid base64 key: %v", err)
	}
	if n := len(b); n != 16 && n != 24 && n != 32 {
		return fmt.Errorf("key must be 16, 24 or 32 bytes, got %d", n)
	}
	*v.p = &s
	return nil
}

type boolPtr struct{ p **bool }

func (v boolPtr) String() string {
	if v.p == nil || *v.p == nil {
		return ""
	}
	return strconv.FormatBool(**v.p)
}
func (v boolPtr) Set(s string) error {
	b, err := strconv.ParseBool(s)
	if err != nil {
		return fmt.Errorf("expected a boolean, got %q", s)
	}
	*v.p = &b
	return nil
}
func (v boolPtr) IsBoolFlag() bool { return true }

type intPtr struct {
	p        **int
	min, max int
}

func (v intPtr) String() string {
	if v.p == nil || *v.p == nil {
		return ""
	}
	return strconv.Itoa(**v.p)
}
func (v intPtr) Set(s string) error {
	n, err := strconv.Atoi(s)
	if err != nil {
		return fmt.Errorf("expected a number, got %q", s)
	}
	if n < v.min || n > v.max {
		return fmt.Errorf("%d out of range (%d-%d)", n, v.min, v.max)
	}
	*v.p = &n
	return nil
}

type durPtr struct{ p **time.Duration }

func (v durPtr) String() string {
	if v.p == nil || *v.p == nil {
		return ""
	}
	return (**v.p).String()
}
func (v durPtr) Set(s string) error {
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return fmt.Errorf("invalid duration %q", s)
	}
	*v.p = &d
	return nil
}

type strSlice struct{ p *[]string }

func (v strSlice) String() string {
	if v.p == nil {
		return ""
	}
	return strings.Join(*v.p, ",")
}
func (v strSlice) Set(s string) error { *v.p = append(*v.p, s); return nil }
