package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/hashicorp/consul/api"
)

// httpFlags are the flags every client command shares, with Consul's
// names. Unset flags leave api.DefaultConfig's values, which already
// honour CONSUL_HTTP_ADDR, CONSUL_HTTP_TOKEN, CONSUL_HTTP_SSL, ...
type httpFlags struct {
	addr, token, tokenFile, caFile, caPath, certFile, keyFile, tlsServerName string
	datacenter                                                               string
	stale                                                                    bool
}

func (h *httpFlags) client(fs *flag.FlagSet) {
	fs.StringVar(&h.addr, "http-addr", "", "The `address` and port of the Consul HTTP agent. Also CONSUL_HTTP_ADDR. Default 127.0.0.1:8500.")
	fs.StringVar(&h.token, "token", "", "ACL token to use in the request. Also CONSUL_HTTP_TOKEN.")
	fs.StringVar(&h.tokenFile, "token-file", "", "File containing the ACL token. Also CONSUL_HTTP_TOKEN_FILE.")
	fs.StringVar(&h.caFile, "ca-file", "", "Path to a CA file for TLS. Also CONSUL_CACERT.")
	fs.StringVar(&h.caPath, "ca-path", "", "Path to a directory of CA certificates for TLS. Also CONSUL_CAPATH.")
	fs.StringVar(&h.certFile, "client-cert", "", "Path to a client cert file for TLS. Also CONSUL_CLIENT_CERT.")
	fs.StringVar(&h.keyFile, "client-key", "", "Path to a client key file for TLS. Also CONSUL_CLIENT_KEY.")
	fs.StringVar(&h.tlsServerName, "tls-server-name", "", "The server name to use as the SNI host. Also CONSUL_TLS_SERVER_NAME.")
}

func (h *httpFlags) server(fs *flag.FlagSet) {
	fs.StringVar(&h.datacenter, "datacenter", "", "Name of the datacenter to query. Defaults to the agent's.")
	fs.BoolVar(&h.stale, "stale", false, "Permit any Consul server (non-leader) to respond to this request.")
}

func (h *httpFlags) apiClient() (*api.Client, error) {
	cfg := api.DefaultConfig()
	set := func(dst *string, v string) {
		if v != "" {
			*dst = v
		}
	}
	set(&cfg.Address, h.addr)
	set(&cfg.Token, h.token)
	set(&cfg.TokenFile, h.tokenFile)
	set(&cfg.TLSConfig.CAFile, h.caFile)
	set(&cfg.TLSConfig.CAPath, h.caPath)
	set(&cfg.TLSConfig.CertFile, h.certFile)
	set(&cfg.TLSConfig.KeyFile, h.keyFile)
	set(&cfg.TLSConfig.Address, h.tlsServerName)
	set(&cfg.Datacenter, h.datacenter)
	return api.NewClient(cfg)
}

func (h *httpFlags) queryOptions() *api.QueryOptions {
	return &api.QueryOptions{AllowStale: h.stale}
}

// newFlags makes a command's flag set; parse errors are printed by parse.
func (c *cli) newFlags(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return fs
}

// parse parses args; ok=false means return code rc.
func (c *cli) parse(fs *flag.FlagSet, usage string, args []string) (rc int, ok bool) {
	err := fs.Parse(args)
	if err == nil {
		return 0, true
	}
	if errors.Is(err, flag.ErrHelp) {
		c.printHelp(c.stdout, fs, usage)
		return 0, false
	}
	c.err("%v", err)
	c.printHelp(c.stderr, fs, usage)
	return 1, false
}

func (c *cli) printHelp(w io.Writer, fs *flag.FlagSet, usage string) {
	fmt.Fprintf(w, "Usage: %s %s\n\n", c.name, usage)
	fs.SetOutput(w)
	fs.PrintDefaults()
	fs.SetOutput(io.Discard)
}

// columnize aligns fields separated by \x1f into columns joined by two
// spaces, the last column unpadded, as the columnize package Consul's CLI
// uses.
func columnize(lines []string) string {
	var rows [][]string
	var widths []int
	for _, l := range lines {
		fields := strings.Split(l, "\x1f")
		for i := range fields {
			fields[i] = strings.TrimSpace(fields[i])
			if i >= len(widths) {
				widths = append(widths, 0)
			}
			if n := len([]rune(fields[i])); n > widths[i] {
				widths[i] = n
			}
		}
		rows = append(rows, fields)
	}
	var b strings.Builder
	for r, fields := range rows {
		for i, f := range fields {
			b.WriteString(f)
			if i < len(fields)-1 {
				b.WriteString(strings.Repeat(" ", widths[i]-len([]rune(f))))
				b.WriteString("  ")
			}
		}
		if r < len(rows)-1 {
			b.WriteByte('\n')
		}
	}
	return b.String()
}

// stripSlash drops one leading "/": keys cannot start with it, and users
// type "/foo" anyway (Consul's CLI does the same).
func stripSlash(key string) string {
	if strings.HasPrefix(key, "/") {
		return key[1:]
	}
	return key
}

func tooMany(c *cli, want string, got int) int {
	c.err("Too many arguments (expected %s, got %d)", want, got)
	return 1
}

func connectErr(c *cli, err error) int {
	c.err("Error connecting to Consul agent: %s", err)
	return 1
}
