package main

import (
	"strings"
	"testing"

	"github.com/minconsul/minconsul/testutil/testagent"
)

// `info` prints the agent's Stats sections in Consul's layout.
func TestInfo_Sections(t *testing.T) {
	a := testagent.Start(t, testagent.Options{NodeName: "info1"})
	rc, out, errOut := runCLI(t, "", "info", "-http-addr="+a.HTTPAddr())
	if rc != 0 {
		t.Fatalf("info: %d %q", rc, errOut)
	}
	for _, want := range []string{"agent:\n\tcheck_monitors = 0\n", "build:\n", "consul:\n\tacl = disabled\n",
		"raft:\n", "\tstate = Leader\n", "runtime:\n", "serf_lan:\n", "\tmembers = 1\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("info lacks %q:\n%s", want, out)
		}
	}
	if i, j := strings.Index(out, "agent:"), strings.Index(out, "serf_lan:"); i != 0 || j < i {
		t.Errorf("sections not sorted:\n%s", out)
	}
}

func TestCatalogDatacenters(t *testing.T) {
	a := testagent.Start(t, testagent.Options{NodeName: "dc1node"})
	rc, out, errOut := runCLI(t, "", "catalog", "datacenters", "-http-addr="+a.HTTPAddr())
	if rc != 0 || out != "dc1\n" {
		t.Fatalf("catalog datacenters: %d %q %q", rc, out, errOut)
	}
	if rc, _, errOut := runCLI(t, "", "catalog", "datacenters", "-http-addr="+a.HTTPAddr(), "x"); rc != 1 || errOut != "Too many arguments (expected 0, got 1)\n" {
		t.Fatalf("extra arg: %d %q", rc, errOut)
	}
}
