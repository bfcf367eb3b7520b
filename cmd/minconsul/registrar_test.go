package main

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/minconsul/minconsul/agent"
	"github.com/minconsul/minconsul/config"
)

func TestDockerDecision(t *testing.T) {
	on, off := true, false
	answers := func(context.Context, string) (string, error) { return "1.41", nil }
	absent := func(context.Context, string) (string, error) { return "", errors.New("no socket") }
	for _, tc := range []struct {
		name    string
		dev     bool
		enabled *bool
		ping    func(context.Context, string) (string, error)
		want    bool
		why     string
	}{
		{"dev, engine answers", true, nil, answers, true, "on by itself with -dev, -docker=false turns it off"},
		{"dev, no engine", true, nil, absent, false, "off (no Docker engine answers at tcp://h:2375)"},
		{"dev, -docker=false", true, &off, answers, false, "off (-docker=false)"},
		{"server, unset", false, nil, answers, false, "off (-docker turns it on)"},
		{"server, -docker without engine", false, &on, absent, true, "tcp://h:2375 (-docker)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newCLI(strings.NewReader(""), &strings.Builder{}, &strings.Builder{})
			c.agent.dockerPing = tc.ping
			got, why := c.dockerDecision(&agent.Config{Dev: tc.dev}, config.Docker{Enabled: tc.enabled, Host: "tcp://h:2375"})
			if got != tc.want || !strings.Contains(why, tc.why) {
				t.Fatalf("got %v %q, want %v %q", got, why, tc.want, tc.why)
			}
		})
	}
}

func TestRegistratorCmd_BadArgs(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, "Missing required argument for registry URI."},
		{[]string{"consul://a", "extra"}, "Options should come before the registry URI argument."},
		{[]string{"-deregister", "never", "consul://a"}, `-deregister must be "always" or "on-success"`},
		{[]string{"-ttl", "10", "consul://a"}, "-ttl and -ttl-refresh must be specified together"},
		{[]string{"-retry-interval", "0", "consul://a"}, "-retry-interval must be greater than 0"},
		{[]string{"-ip", "host", "consul://a"}, `-ip "host" is not an IP address`},
		{[]string{"etcd://a"}, `unsupported registry "etcd"`},
	} {
		var out, errOut strings.Builder
		c := newCLI(strings.NewReader(""), &out, &errOut)
		if rc := c.run("consul", append([]string{"registrator"}, tc.args...)); rc != 2 || !strings.Contains(errOut.String(), tc.want) {
			t.Errorf("%v: rc %d, stderr %q, want %q", tc.args, rc, errOut.String(), tc.want)
		}
	}
}

// The backend is pinged once plus -retry-attempts times, then it gives up.
func TestRegistratorCmd_BackendUnreachable(t *testing.T) {
	var out, errOut strings.Builder
	c := newCLI(strings.NewReader(""), &out, &errOut)
	sock := "consul-unix://" + t.TempDir() + "/nothing.sock"
	if rc := c.run("consul", []string{"registrator", "-retry-attempts", "1", "-retry-interval", "10", sock}); rc != 1 {
		t.Fatalf("rc %d, stderr %s", rc, errOut.String())
	}
	if n := strings.Count(errOut.String(), "connecting to backend"); n != 2 || !strings.Contains(errOut.String(), "cannot reach the agent") {
		t.Fatalf("%d attempts logged:\n%s", n, errOut.String())
	}
}
