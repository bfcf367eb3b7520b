package config

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/minconsul/minconsul/agent"
	"github.com/minconsul/minconsul/structs"
)

// testLoader has a fixed hostname and network so results do not depend on
// the machine.
func testLoader() *Loader {
	return &Loader{
		Hostname:    func() (string, error) { return "host1", nil },
		PrivateIPv4: func() ([]string, error) { return []string{"10.1.2.3"}, nil },
		PublicIPv6:  func() ([]string, error) { return []string{"2001:db8::1"}, nil },
	}
}

func writeFile(t *testing.T, dir, name, body string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoad_Defaults(t *testing.T) {
	dd := t.TempDir()
	cfg, res, err := testLoader().Load([]string{"-data-dir", dd})
	if err != nil {
		t.Fatal(err)
	}
	want := &agent.Config{
		NodeName: "host1", Datacenter: "dc1", Domain: "consul.", DataDir: dd,
		Server: true, BindAddr: "0.0.0.0", AdvertiseAddr: "10.1.2.3",
		HTTPAddr: "127.0.0.1:8500", DNSAddr: "127.0.0.1:8600", ServerPort: 8300, SerfLANPort: 8301,
		DNS: agent.DNSConfig{AllowStale: true, MaxStale: 87600 * time.Hour, UDPAnswerLimit: 3,
			Recursors: []string{}, RecursorTimeout: 2 * time.Second},
		RaftMultiplier: 1, LogLevel: "INFO", UIEnabled: true, RetryInterval: 30 * time.Second, SkipLeaveOnInterrupt: true,
		CheckUpdateInterval: 5 * time.Minute, CheckReapInterval: 30 * time.Second, CheckDeregisterMin: time.Minute,
		CheckMinInterval: time.Second, CheckOutputMaxSize: 4096,
	}
	cfg.Reload = nil
	if !reflect.DeepEqual(cfg, want) {
		t.Fatalf("got  %+v\nwant %+v", cfg, want)
	}
	if res.LogLevel != "INFO" || res.LogJSON || len(res.Warnings) != 0 {
		t.Fatalf("result %+v", res)
	}
	if res.RetryInterval != 30*time.Second {
		t.Fatalf("retry interval %v", res.RetryInterval)
	}
}

func TestLoad_Flags(t *testing.T) {
	dd := t.TempDir()
	cases := []struct {
		name  string
		args  []string
		check func(*agent.Config, *LoadResult) bool
	}{
		{"dev", []string{"-dev"}, func(c *agent.Config, r *LoadResult) bool {
			return c.Dev && c.Bootstrap && c.UIEnabled && c.BindAddr == "127.0.0.1" &&
				c.AdvertiseAddr == "127.0.0.1" && r.LogLevel == "DEBUG" && c.DataDir == ""
		}},
		{"client", []string{"-data-dir", dd, "-server=false"}, func(c *agent.Config, _ *LoadResult) bool {
			return !c.Server && c.LeaveOnTerminate
		}},
		{"server leave", []string{"-data-dir", dd, "-leave-on-terminate"}, func(c *agent.Config, _ *LoadResult) bool {
			return c.Server && c.LeaveOnTerminate
		}},
		{"names", []string{"-dev", "-node", "n1", "-node-id", "ADF4238A-882B-9DDC-4A9D-5B6758E4159E", "-datacenter", "EU1", "-domain", "Example"},
			func(c *agent.Config, _ *LoadResult) bool {
				return c.NodeName == "n1" && c.NodeID == "adf4238a-882b-9ddc-4a9d-5b6758e4159e" &&
					c.Datacenter == "eu1" && c.Domain == "example."
			}},
		{"addresses", []string{"-dev", "-bind", "127.0.0.2", "-advertise", "10.0.0.9", "-client", "0.0.0.0",
			"-http-port", "0", "-dns-port", "8601", "-server-port", "9300", "-serf-lan-port", "9301"},
			func(c *agent.Config, _ *LoadResult) bool {
				return c.BindAddr == "127.0.0.2" && c.AdvertiseAddr == "10.0.0.9" && c.HTTPAddr == "0.0.0.0:0" &&
					c.DNSAddr == "0.0.0.0:8601" && c.ServerPort == 9300 && c.SerfLANPort == 9301
			}},
		{"bind is advertise", []string{"-data-dir", dd, "-bind", "192.168.1.5"}, func(c *agent.Config, _ *LoadResult) bool {
			return c.AdvertiseAddr == "192.168.1.5"
		}},
		{"ipv6 any", []string{"-data-dir", dd, "-bind", "::"}, func(c *agent.Config, _ *LoadResult) bool {
			return c.AdvertiseAddr == "2001:db8::1"
		}},
		{"joins", []string{"-dev", "-join", "a", "-join", "b", "-retry-join", "c", "-recursor", "8.8.8.8", "-recursor", "1.1.1.1:5353"},
			func(c *agent.Config, _ *LoadResult) bool {
				return reflect.DeepEqual(c.StartJoin, []string{"a", "b"}) && reflect.DeepEqual(c.RetryJoin, []string{"c"}) &&
					reflect.DeepEqual(c.DNS.Recursors, []string{"8.8.8.8", "1.1.1.1:5353"})
			}},
		{"bootstrap expect", []string{"-data-dir", dd, "-bootstrap-expect", "3"}, func(c *agent.Config, _ *LoadResult) bool {
			return c.BootstrapExpect == 3 && !c.Bootstrap
		}},
		{"bootstrap expect 1", []string{"-data-dir", dd, "-bootstrap-expect", "1"}, func(c *agent.Config, r *LoadResult) bool {
			return c.BootstrapExpect == 0 && c.Bootstrap && len(r.Warnings) == 2
		}},
		{"logging", []string{"-dev", "-log-level", "warn", "-log-json"}, func(c *agent.Config, r *LoadResult) bool {
			return r.LogLevel == "WARN" && r.LogJSON && c.LogLevel == "WARN"
		}},
		{"ui and scripts", []string{"-data-dir", dd, "-ui", "-enable-script-checks"}, func(c *agent.Config, _ *LoadResult) bool {
			return c.UIEnabled && c.EnableScriptChecks
		}},
		{"retry", []string{"-dev", "-retry-interval", "5s", "-retry-max", "4"}, func(_ *agent.Config, r *LoadResult) bool {
			return r.RetryInterval == 5*time.Second && r.RetryMax == 4
		}},
		{"ignored flags warn", []string{"-dev", "-encrypt", "pUqJrVyVRj5jsiYEkM/tFQYfWyJIv4s3XkvDwy7Cu5s=", "-grpc-port", "8502", "-grpc-port", "8503"},
			func(c *agent.Config, r *LoadResult) bool {
				return len(r.Warnings) == 1 && strings.Contains(r.Warnings[0], "-grpc-port") && len(c.EncryptKey) == 32
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg, res, err := testLoader().Load(tc.args)
			if err != nil {
				t.Fatal(err)
			}
			if !tc.check(cfg, res) {
				t.Fatalf("unexpected config %+v\nresult %+v", cfg, res)
			}
		})
	}
}

func TestLoad_Errors(t *testing.T) {
	dir := t.TempDir()
	file := writeFile(t, dir, "f", "x")
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"no data dir", []string{}, "data_dir cannot be empty"},
		{"data dir is file", []string{"-data-dir", file}, "is not a directory"},
		{"bootstrap both", []string{"-dev=false", "-data-dir", dir, "-bootstrap", "-bootstrap-expect", "3"}, "mutually exclusive"},
		{"expect on client", []string{"-data-dir", dir, "-server=false", "-bootstrap-expect", "3"}, "requires 'server = true'"},
		{"bootstrap on client", []string{"-data-dir", dir, "-server=false", "-bootstrap"}, "requires 'server = true'"},
		{"expect in dev", []string{"-dev", "-bootstrap-expect", "3"}, "not allowed in dev mode"},
		{"port range", []string{"-dev", "-http-port", "70000"}, "-http-port"},
		{"port type", []string{"-dev", "-dns-port", "abc"}, `expected a number, got "abc"`},
		{"bad bind", []string{"-dev", "-bind", "nope"}, "-bind"},
		{"advertise any", []string{"-dev", "-advertise", "0.0.0.0"}, "Advertise address cannot be 0.0.0.0"},
		{"bad duration", []string{"-dev", "-retry-interval", "soon"}, "invalid duration"},
		{"bad encrypt", []string{"-dev", "-encrypt", "xx"}, "-encrypt"},
		{"bad uuid", []string{"-dev", "-node-id", "abc"}, "node_id"},
		{"bad dc", []string{"-dev", "-datacenter", "d c"}, "datacenter can only contain"},
		{"bad log level", []string{"-dev", "-log-level", "loud"}, "Invalid log level"},
		{"positional", []string{"-dev", "extra"}, `unexpected argument "extra"`},
		{"unknown flag", []string{"-dev", "-nope"}, "flag provided but not defined: -nope"},
		{"missing file", []string{"-dev", "-config-file", filepath.Join(dir, "none.json")}, "none.json"},
		{"config format", []string{"-dev", "-config-format", "yaml"}, "-config-format"},
		{"recursor any", []string{"-dev", "-recursor", "0.0.0.0"}, "DNS recursor address cannot be"},
		{"no private ip", []string{"-data-dir", dir, "-node", "x"}, "No private IPv4 address found"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			l := testLoader()
			if tc.name == "no private ip" {
				l.PrivateIPv4 = func() ([]string, error) { return nil, nil }
			}
			_, _, err := l.Load(tc.args)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

func TestLoad_Help(t *testing.T) {
	if _, _, err := testLoader().Load([]string{"-h"}); err != ErrHelp {
		t.Fatalf("got %v", err)
	}
	if u := Usage(); !strings.Contains(u, "-bootstrap-expect") {
		t.Fatalf("usage lacks flags:\n%s", u)
	}
}

func TestLoad_NodeNameWarnings(t *testing.T) {
	_, res, err := testLoader().Load([]string{"-dev", "-node", "web_1"})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Warnings) != 1 || !strings.Contains(res.Warnings[0], "will not be discoverable via DNS") {
		t.Fatalf("warnings %q", res.Warnings)
	}
}

func TestLoad_Reload(t *testing.T) {
	dir := t.TempDir()
	f := writeFile(t, dir, "a.json", `{"log_level":"info","dns_config":{"node_ttl":"1s"}}`)
	var reloaded *LoadResult
	l := testLoader()
	l.Version = "1.2.3"
	l.OnReload = func(r *LoadResult) { reloaded = r }
	cfg, _, err := l.Load([]string{"-dev", "-config-file", f})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.DNS.NodeTTL != time.Second || cfg.Version != "1.2.3" {
		t.Fatalf("cfg %+v", cfg)
	}
	writeFile(t, dir, "a.json", `{"log_level":"debug","dns_config":{"node_ttl":"5s"},"acl":{"enabled":false}}`)
	cfg2, err := cfg.Reload()
	if err != nil {
		t.Fatal(err)
	}
	if cfg2.DNS.NodeTTL != 5*time.Second || cfg2.LogLevel != "DEBUG" || cfg2.Reload == nil {
		t.Fatalf("reloaded %+v", cfg2)
	}
	if reloaded == nil || len(reloaded.Warnings) != 1 {
		t.Fatalf("OnReload got %+v", reloaded)
	}
	writeFile(t, dir, "a.json", `{"ports":{"http":"x"}}`)
	if _, err := cfg.Reload(); err == nil {
		t.Fatal("reload of a broken file succeeded")
	}
}

func TestDefaultConfig(t *testing.T) {
	c := DefaultConfig()
	if c.Datacenter != "dc1" || c.Domain != "consul." || !c.Server || c.HTTPAddr != "127.0.0.1:8500" ||
		c.DNS.UDPAnswerLimit != 3 || !c.UIEnabled || c.LeaveOnTerminate || c.NodeName == "" {
		t.Fatalf("%+v", c)
	}
}

func TestMerge_AppendsSlicesOverridesValues(t *testing.T) {
	a := &rawConfig{NodeName: ptr("a"), RetryJoin: []string{"x"}, ServiceTTL: map[string]time.Duration{"*": 1}}
	b := &rawConfig{Datacenter: ptr("b"), RetryJoin: []string{"y"}, ServiceTTL: map[string]time.Duration{"web": 2},
		Services: []*structs.ServiceDefinition{{Name: "s"}}}
	merge(a, b)
	if *a.NodeName != "a" || *a.Datacenter != "b" || !reflect.DeepEqual(a.RetryJoin, []string{"x", "y"}) ||
		len(a.ServiceTTL) != 2 || len(a.Services) != 1 {
		t.Fatalf("%+v", a)
	}
}
