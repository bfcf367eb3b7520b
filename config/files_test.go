package config

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/minconsul/minconsul/structs"
)

// A Consul server config as found in the wild, with many settings
// minconsul does not implement.
const realConsulJSON = `{
  "datacenter": "east-aws",
  "data_dir": "%s",
  "log_level": "INFO",
  "node_name": "foobar",
  "server": true,
  "bootstrap_expect": 3,
  "retry_join": ["provider=aws tag_key=consul"],
  "encrypt": "pUqJrVyVRj5jsiYEkM/tFQYfWyJIv4s3XkvDwy7Cu5s=",
  "acl": {"enabled": true, "default_policy": "allow", "tokens": {"initial_management": "x"}},
  "connect": {"enabled": true},
  "telemetry": {"prometheus_retention_time": "24h", "disable_hostname": true},
  "ports": {"grpc": 8502, "https": -1, "http": 8501},
  "addresses": {"https": "0.0.0.0"},
  "dns_config": {"node_ttl": "10s", "service_ttl": {"*": "5s", "web": "30s"}, "a_record_limit": 2},
  "ui_config": {"enabled": true, "metrics_provider": "prometheus"},
  "performance": {"raft_multiplier": 5, "leave_drain_time": "5s"},
  "service": {"name": "web", "port": 80, "connect": {"sidecar_service": {}}}
}`

func TestFiles_RealConsulConfigWarns(t *testing.T) {
	dir := t.TempDir()
	f := writeFile(t, dir, "consul.json", strings.Replace(realConsulJSON, "%s", dir, 1))
	cfg, res, err := testLoader().Load([]string{"-config-file", f})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Datacenter != "east-aws" || cfg.NodeName != "foobar" || cfg.BootstrapExpect != 3 ||
		cfg.HTTPAddr != "127.0.0.1:8501" || cfg.DNS.NodeTTL != 10*time.Second ||
		cfg.DNS.ServiceTTL["web"] != 30*time.Second || !cfg.UIEnabled || cfg.RaftMultiplier != 5 ||
		len(cfg.Services) != 1 || cfg.Services[0].Port != 80 {
		t.Fatalf("%+v", cfg)
	}
	joined := strings.Join(res.Warnings, "\n")
	for _, key := range []string{`"acl.tokens"`, `"connect"`, `"ports.grpc"`, `"ports.https"`,
		`"addresses.https"`, `"dns_config.a_record_limit"`, `"ui_config.metrics_provider"`,
		`"performance.leave_drain_time"`, `"service.connect"`} {
		if strings.Count(joined, key) != 1 {
			t.Errorf("key %s named %d times in warnings:\n%s", key, strings.Count(joined, key), joined)
		}
	}
	if !strings.Contains(joined, "config file "+f) {
		t.Errorf("warnings do not name the file:\n%s", joined)
	}
}

func TestFiles_HCL(t *testing.T) {
	dir := t.TempDir()
	f := writeFile(t, dir, "a.hcl", `
node_name = "h1"
data_dir = "`+dir+`"
bind_addr = "127.0.0.1"
ports {
  http = 18500
  dns = 18600
}
addresses { dns = "127.0.0.5" }
retry_join = ["10.0.0.1", "10.0.0.2"]
recursors = ["8.8.8.8"]
dns_config {
  only_passing = true
  udp_answer_limit = 5
  service_ttl { "*" = "3s" }
}
ui_config { enabled = true }
acl { enabled = true }
service {
  name = "web"
  tags = ["v1", "primary"]
  port = 80
  meta { version = "1" }
  check { ttl = "10s" }
}
service {
  Name = "db"
  EnableTagOverride = true
  checks = [{ id = "db-tcp", tcp = "localhost:5432", interval = "10s" },
            { id = "db-http", http = "http://x", interval = "5s", header { X-A = ["b"] } }]
}
check {
  id = "mem"
  name = "Memory"
  args = ["/bin/true"]
  interval = "30s"
}
enable_script_checks = true
`)
	cfg, res, err := testLoader().Load([]string{"-config-file", f})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.NodeName != "h1" || cfg.HTTPAddr != "127.0.0.1:18500" || cfg.DNSAddr != "127.0.0.5:18600" ||
		!reflect.DeepEqual(cfg.RetryJoin, []string{"10.0.0.1", "10.0.0.2"}) || !cfg.DNS.OnlyPassing ||
		cfg.DNS.UDPAnswerLimit != 5 || cfg.DNS.ServiceTTL["*"] != 3*time.Second || !cfg.UIEnabled ||
		cfg.AdvertiseAddr != "127.0.0.1" || !cfg.EnableScriptChecks {
		t.Fatalf("%+v", cfg)
	}
	wantSvcs := []*structs.ServiceDefinition{
		{Name: "web", Tags: []string{"v1", "primary"}, Port: 80, Meta: map[string]string{"version": "1"},
			Check: &structs.CheckDefinition{TTL: "10s"}},
		{Name: "db", EnableTagOverride: true, Checks: []*structs.CheckDefinition{
			{ID: "db-tcp", TCP: "localhost:5432", Interval: "10s"},
			{ID: "db-http", HTTP: "http://x", Interval: "5s", Header: map[string][]string{"X-A": {"b"}}},
		}},
	}
	if !reflect.DeepEqual(cfg.Services, wantSvcs) {
		t.Fatalf("services\n got %#v\nwant %#v", cfg.Services, wantSvcs)
	}
	wantChecks := []*structs.CheckDefinition{{ID: "mem", Name: "Memory", Args: []string{"/bin/true"}, Interval: "30s"}}
	if !reflect.DeepEqual(cfg.Checks, wantChecks) {
		t.Fatalf("checks %#v", cfg.Checks)
	}
	if len(res.Warnings) != 1 || !strings.Contains(res.Warnings[0], `"acl.enabled"`) {
		t.Fatalf("warnings %q", res.Warnings)
	}
}

func TestFiles_ServiceSpellings(t *testing.T) {
	dir := t.TempDir()
	f := writeFile(t, dir, "s.json", `{"services": [
	  {"ID": "web1", "Name": "web", "Address": "10.0.0.1", "Port": 8080, "Tags": ["a"], "EnableTagOverride": true,
	   "Meta": {"k": "v"}, "Weights": {"Passing": 3, "Warning": 1},
	   "TaggedAddresses": {"lan": {"Address": "10.0.0.1", "Port": 8080}},
	   "Check": {"CheckID": "c1", "HTTP": "http://localhost", "Interval": "10s", "DeregisterCriticalServiceAfter": "1m"}},
	  {"id": "api1", "name": "api", "enable_tag_override": false, "port": "9090",
	   "checks": [{"name": "t", "ttl": "30s", "status": "passing", "service_id": "api1", "tls_skip_verify": true}]}
	]}`)
	cfg, _, err := testLoader().Load([]string{"-dev", "-config-file", f})
	if err != nil {
		t.Fatal(err)
	}
	want := []*structs.ServiceDefinition{
		{ID: "web1", Name: "web", Address: "10.0.0.1", Port: 8080, Tags: []string{"a"}, EnableTagOverride: true,
			Meta: map[string]string{"k": "v"}, Weights: &structs.Weights{Passing: 3, Warning: 1},
			TaggedAddresses: map[string]structs.ServiceAddress{"lan": {Address: "10.0.0.1", Port: 8080}},
			Check: &structs.CheckDefinition{CheckID: "c1", HTTP: "http://localhost", Interval: "10s",
				DeregisterCriticalServiceAfter: "1m"}},
		{ID: "api1", Name: "api", Port: 9090, Checks: []*structs.CheckDefinition{
			{Name: "t", TTL: "30s", Status: "passing", ServiceID: "api1", TLSSkipVerify: true}}},
	}
	if !reflect.DeepEqual(cfg.Services, want) {
		t.Fatalf("\n got %#v\nwant %#v", cfg.Services, want)
	}
}

func TestFiles_Precedence(t *testing.T) {
	dir := t.TempDir()
	cdir := filepath.Join(dir, "conf.d")
	writeFile(t, dir, "ignore-me.txt", "")
	if err := mkdir(cdir); err != nil {
		t.Fatal(err)
	}
	// Lexical order inside the directory: 01 < 02 < 10.
	writeFile(t, cdir, "10-last.json", `{"datacenter": "dir-last", "retry_join": ["c"]}`)
	writeFile(t, cdir, "01-first.json", `{"datacenter": "dir-first", "node_name": "from-dir", "retry_join": ["a"]}`)
	writeFile(t, cdir, "02-mid.hcl", `log_level = "warn"
retry_join = ["b"]`)
	writeFile(t, cdir, "README.md", "not config")
	extra := writeFile(t, dir, "extra.json", `{"datacenter": "file", "log_level": "error", "ports": {"http": 1}}`)

	cfg, res, err := testLoader().Load([]string{"-dev", "-config-dir", cdir, "-config-file", extra,
		"-http-port", "2", "-retry-join", "flag"})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Datacenter != "file" || cfg.NodeName != "from-dir" || cfg.LogLevel != "ERROR" || cfg.HTTPAddr != "127.0.0.1:2" {
		t.Fatalf("%+v", cfg)
	}
	if !reflect.DeepEqual(cfg.RetryJoin, []string{"flag", "a", "b", "c"}) {
		t.Fatalf("retry_join %q", cfg.RetryJoin)
	}
	if len(res.Files) != 4 || !strings.HasSuffix(res.Files[0], "01-first.json") || res.Files[3] != extra {
		t.Fatalf("files %q", res.Files)
	}
	if len(res.Warnings) != 1 || !strings.Contains(res.Warnings[0], "README.md") {
		t.Fatalf("warnings %q", res.Warnings)
	}
	// -hcl fragments override flags, as Consul.
	cfg, _, err = testLoader().Load([]string{"-dev", "-node", "flag", "-hcl", `node_name = "hcl"`})
	if err != nil || cfg.NodeName != "hcl" {
		t.Fatalf("%v %+v", err, cfg)
	}
}

func TestFiles_Errors(t *testing.T) {
	cases := []struct {
		name, file, body, want string
	}{
		{"port string", "a.json", `{"ports": {"http": "abc"}}`, `ports.http: expected a number, got "abc"`},
		{"port range", "a.json", `{"ports": {"dns": 70000}}`, `ports.dns: port 70000 out of range`},
		{"port negative", "a.json", `{"ports": {"dns": -1}}`, `ports.dns: port -1 out of range`},
		{"bool", "a.json", `{"server": "yes please"}`, `server: expected a boolean, got "yes please"`},
		{"string", "a.json", `{"node_name": 5}`, `node_name: expected a string, got 5`},
		{"list", "a.json", `{"retry_join": [1]}`, `retry_join[0]: expected a string, got 1`},
		{"object", "a.json", `{"dns_config": "x"}`, `dns_config: expected an object, got "x"`},
		{"duration", "a.json", `{"dns_config": {"node_ttl": "10 seconds"}}`, `dns_config.node_ttl: invalid duration "10 seconds"`},
		{"service ttl", "a.json", `{"dns_config": {"service_ttl": {"web": 5}}}`, `dns_config.service_ttl.web: expected a duration`},
		{"fraction", "a.json", `{"bootstrap_expect": 1.5}`, `bootstrap_expect: expected a whole number, got 1.5`},
		{"check duration", "a.json", `{"service": {"name": "w", "check": {"ttl": "x"}}}`, `service.check.ttl: invalid duration "x"`},
		{"service no name", "a.json", `{"services": [{"port": 1}]}`, `services[0]: service definition has no "name"`},
		{"service port", "a.json", `{"service": {"name": "w", "port": "eighty"}}`, `service.port: expected a number, got "eighty"`},
		{"malformed json", "a.json", "{\n\"node_name\": \"x\",\n}", `invalid JSON: line 3`},
		{"json not object", "a.json", `[1]`, `invalid JSON: expected an object`},
		{"malformed hcl", "a.hcl", `ports { http = `, `invalid HCL`},
		{"hcl type", "a.hcl", `ports { http = "abc" }`, `ports.http: expected a number, got "abc"`},
		{"raft multiplier", "a.json", `{"performance": {"raft_multiplier": 11}}`, `performance.raft_multiplier cannot be 11`},
		{"udp limit", "a.json", `{"dns_config": {"udp_answer_limit": -1}}`, `udp_answer_limit cannot be -1`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			f := writeFile(t, dir, tc.file, tc.body)
			_, _, err := testLoader().Load([]string{"-dev", "-config-file", f})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want it to contain %q", err, tc.want)
			}
			if strings.Contains(tc.want, ":") && !strings.Contains(err.Error(), "config file "+f+": ") &&
				!strings.Contains(tc.name, "multiplier") && !strings.Contains(tc.name, "udp") {
				t.Fatalf("error %q does not name the file", err)
			}
		})
	}
}

func TestFiles_EmptyAndForcedFormat(t *testing.T) {
	dir := t.TempDir()
	empty := writeFile(t, dir, "empty.json", "  \n")
	noext := writeFile(t, dir, "consul.conf", `node_name = "forced"`)
	cfg, res, err := testLoader().Load([]string{"-dev", "-config-file", empty, "-config-format", "hcl", "-config-file", noext})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.NodeName != "forced" || len(res.Warnings) != 0 {
		t.Fatalf("%+v %q", cfg, res.Warnings)
	}
	// Without -config-format a file with another extension is skipped.
	_, res, err = testLoader().Load([]string{"-dev", "-config-file", noext})
	if err != nil || len(res.Warnings) != 1 || !strings.Contains(res.Warnings[0], "skipping file") {
		t.Fatalf("%v %q", err, res.Warnings)
	}
}

func TestFiles_DeprecatedUI(t *testing.T) {
	dir := t.TempDir()
	f := writeFile(t, dir, "a.json", `{"ui": true}`)
	cfg, res, err := testLoader().Load([]string{"-data-dir", dir, "-config-file", f})
	if err != nil {
		t.Fatal(err)
	}
	if !cfg.UIEnabled || len(res.Warnings) != 1 || !strings.Contains(res.Warnings[0], "deprecated") {
		t.Fatalf("%v %q", cfg.UIEnabled, res.Warnings)
	}
}

func FuzzLoadJSON(f *testing.F) {
	f.Add([]byte(`{"node_name":"n","ports":{"http":1},"services":[{"name":"w","check":{"ttl":"1s"}}]}`))
	f.Add([]byte(`{"dns_config":{"service_ttl":{"*":"1s"}},"retry_join":"x","ui_config":[{"enabled":true}]}`))
	f.Add([]byte(`{"service":[{"name":"a","checks":[[{"ttl":"1s"}]],"tagged_addresses":{"lan":{"port":1}}}]}`))
	f.Add([]byte(`null`))
	f.Add([]byte(`{"bootstrap_expect":1e300}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, _, err := decodeSource("config file fuzz.json", "json", data)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "config file fuzz.json: ") {
				t.Fatalf("error does not name the source: %v", err)
			}
			return
		}
		merged := defaultSource(true, "fuzz")
		merge(merged, r)
		cfg, err := testLoader().build(merged, true, func(string) {})
		if err == nil && cfg == nil {
			t.Fatal("nil config without error")
		}
	})
}

func mkdir(p string) error { return os.Mkdir(p, 0o755) }
