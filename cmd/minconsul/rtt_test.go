package main

import (
	"fmt"
	"testing"

	"github.com/hashicorp/consul/api"
	"github.com/hashicorp/serf/coordinate"

	"github.com/minconsul/minconsul/structs"
	"github.com/minconsul/minconsul/testutil/testagent"
)

func TestRTT_Command(t *testing.T) {
	a := testagent.Start(t, testagent.Options{NodeName: "rtt1"})
	c := a.Client(t)
	coords := map[string]*coordinate.Coordinate{}
	for i, n := range []string{"a", "b"} {
		if _, err := c.Catalog().Register(&api.CatalogRegistration{Node: n, Address: "10.0.0.1"}, nil); err != nil {
			t.Fatal(err)
		}
		co := coordinate.NewCoordinate(coordinate.DefaultConfig())
		co.Vec[0] = 0.0123 * float64(i+1)
		coords[n] = co
		if _, err := c.Coordinate().Update(&api.CoordinateEntry{Node: n, Coord: co}, nil); err != nil {
			t.Fatal(err)
		}
	}
	ha := "-http-addr=" + a.HTTPAddr()
	want := fmt.Sprintf("Estimated a <-> b rtt: %.3f ms (using LAN coordinates)\n", structs.RTT(coords["a"], coords["b"])*1000)
	if rc, out, errOut := runCLI(t, "", "rtt", ha, "a", "b"); rc != 0 || out != want {
		t.Fatalf("rtt a b: %d %q %q, want %q", rc, out, errOut, want)
	}
	for _, tc := range []struct {
		args []string
		err  string
	}{
		{[]string{"rtt", ha}, "One or two node names must be specified\n"},
		{[]string{"rtt", ha, "a", "ghost"}, "Could not find a coordinate for node \"ghost\"\n"},
		{[]string{"rtt", ha, "-wan", "a"}, "Error: WAN coordinates are not supported by minconsul (one datacenter, no WAN pool)\n"},
	} {
		if rc, _, errOut := runCLI(t, "", tc.args...); rc != 1 || errOut != tc.err {
			t.Errorf("%v: %d %q, want %q", tc.args, rc, errOut, tc.err)
		}
	}
}
