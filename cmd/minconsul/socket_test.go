package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/consul/api"
	"github.com/minconsul/minconsul/agent"
	"github.com/minconsul/minconsul/cmd/minconsul/wire"
	"github.com/minconsul/minconsul/testutil/testagent"
)

// An agent with addresses.http = unix:///path serves the API on that
// socket with unix_sockets' mode: the official Go client, -http-addr
// unix://... and CONSUL_HTTP_ADDR all reach it.
func TestUnixSocket_ClientAndCLI(t *testing.T) {
	dir, err := os.MkdirTemp("", "mcsock")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	sock := filepath.Join(dir, "http.sock")
	a := testagent.Start(t, testagent.Options{NodeName: "sock1", Mutate: func(c *agent.Config) {
		c.HTTPAddr = "unix://" + sock
		c.UnixSockets = agent.UnixSocketConfig{Mode: "600"}
	}})
	if a.HTTPAddr() != "unix://"+sock {
		t.Fatalf("HTTPAddr %q", a.HTTPAddr())
	}
	fi, err := os.Stat(sock)
	if err != nil || fi.Mode()&os.ModeSocket == 0 || fi.Mode().Perm() != 0o600 {
		t.Fatalf("socket file: %v %v", fi, err)
	}
	c, err := api.NewClient(&api.Config{Address: "unix://" + sock})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.KV().Put(&api.KVPair{Key: "over/socket", Value: []byte("yes")}, nil); err != nil {
		t.Fatal(err)
	}
	if name, err := c.Agent().NodeName(); err != nil || name != "sock1" {
		t.Fatalf("self over the socket: %q %v", name, err)
	}

	rc, out, errOut := runCLI(t, "", "kv", "get", "-http-addr=unix://"+sock, "over/socket")
	if rc != 0 || out != "yes\n" {
		t.Fatalf("kv get -http-addr unix: %d %q %q", rc, out, errOut)
	}
	t.Setenv("CONSUL_HTTP_ADDR", "unix://"+sock)
	rc, out, errOut = runCLI(t, "", "members")
	if rc != 0 || !strings.Contains(out, "sock1") {
		t.Fatalf("members with CONSUL_HTTP_ADDR: %d %q %q", rc, out, errOut)
	}
	rc, out, _ = runCLI(t, "", "catalog", "datacenters")
	if rc != 0 || out != "dc1\n" {
		t.Fatalf("catalog datacenters over the socket: %d %q", rc, out)
	}
}

// A path that exists and is not a socket is refused rather than deleted.
func TestUnixSocket_RefusesOtherFile(t *testing.T) {
	dir, err := os.MkdirTemp("", "mcsock")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	path := filepath.Join(dir, "file")
	if err := os.WriteFile(path, []byte("keep"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := testagent.DefaultConfig("sock2")
	cfg.HTTPAddr = "unix://" + path
	a, err := newTestWireAgent(cfg)
	if err != nil {
		t.Fatal(err)
	}
	err = a.Start(t.Context())
	if err == nil || !strings.Contains(err.Error(), "exists and is not a socket") {
		t.Fatalf("start: %v", err)
	}
	if b, _ := os.ReadFile(path); string(b) != "keep" {
		t.Fatal("the file was replaced")
	}
}

func newTestWireAgent(cfg *agent.Config) (*wire.Agent, error) { return wire.New(cfg, nil) }

// unix_sockets naming a user that does not exist stops the start.
func TestUnixSocket_UnknownUser(t *testing.T) {
	dir, err := os.MkdirTemp("", "mcsock")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	cfg := testagent.DefaultConfig("sock3")
	cfg.HTTPAddr = "unix://" + filepath.Join(dir, "s")
	cfg.UnixSockets = agent.UnixSocketConfig{User: "no-such-user-mc"}
	a, err := newTestWireAgent(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Start(t.Context()); err == nil || !strings.Contains(err.Error(), "invalid user specified: no-such-user-mc") {
		t.Fatalf("start: %v", err)
	}
}
