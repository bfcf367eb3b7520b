package config

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestLoad_Docker(t *testing.T) {
	dir := t.TempDir()
	f := writeFile(t, dir, "docker.json", `{"docker_host": "tcp://10.0.0.9:2375", "docker_labels": ["team=web"],
		"registrar": {"internal": true, "ip": "10.0.0.7", "explicit": true, "tags": "a,b", "deregister": "on-success",
		"cleanup": true, "resync": "30s", "use_ip_from_label": "ip", "ttl": 5}}`)
	_, res, err := testLoader().Load([]string{"-dev", "-config-file", f, "-docker-label", "env=prod"})
	if err != nil {
		t.Fatal(err)
	}
	want := Docker{Host: "tcp://10.0.0.9:2375", Labels: []string{"env=prod", "team=web"}, Internal: true, HostIP: "10.0.0.7",
		Explicit: true, Tags: "a,b", DeregisterOnSuccess: true, Cleanup: true, Resync: 30 * time.Second, UseIPFromLabel: "ip"}
	if !reflect.DeepEqual(res.Docker, want) {
		t.Fatalf("got  %+v\nwant %+v", res.Docker, want)
	}
	if len(res.Warnings) != 1 || !strings.Contains(res.Warnings[0], `"registrar.ttl"`) {
		t.Fatalf("warnings %q", res.Warnings)
	}

	// Unset: -dev decides; -docker and files set it, the flag wins.
	for _, tc := range []struct {
		args []string
		want *bool
	}{
		{[]string{"-dev"}, nil},
		{[]string{"-dev", "-docker=false"}, ptr(false)},
		{[]string{"-dev", "-docker"}, ptr(true)},
		{[]string{"-dev", "-config-file", writeFile(t, dir, "on.json", `{"docker": true}`), "-docker=false"}, ptr(false)},
		{[]string{"-dev", "-config-file", writeFile(t, dir, "on2.json", `{"docker": true}`)}, ptr(true)},
	} {
		_, res, err := testLoader().Load(tc.args)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(res.Docker.Enabled, tc.want) {
			t.Errorf("%v: enabled %v, want %v", tc.args, res.Docker.Enabled, tc.want)
		}
	}

	for _, tc := range []struct{ body, err string }{
		{`{"registrar": {"deregister": "never"}}`, `must be "always" or "on-success"`},
		{`{"registrar": {"ip": "nowhere"}}`, `not an IP address`},
		{`{"docker": "yes"}`, `docker`},
	} {
		f := writeFile(t, dir, "bad.json", tc.body)
		if _, _, err := testLoader().Load([]string{"-dev", "-config-file", f}); err == nil || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("%s: error %v, want %q", tc.body, err, tc.err)
		}
	}
}
