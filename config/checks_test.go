package config

import (
	"reflect"
	"testing"
	"time"

	"github.com/minconsul/minconsul/structs"
)

// Every check field Consul's config files take, in both spellings, and
// check_update_interval.
func TestFiles_CheckFields(t *testing.T) {
	dir := t.TempDir()
	f := writeFile(t, dir, "c.json", `{"check_update_interval": "30s", "checks": [
	  {"id": "g", "name": "g", "grpc": "127.0.0.1:9000/svc", "grpc_use_tls": true, "tls_server_name": "x.local",
	   "tls_skip_verify": true, "interval": "5s", "success_before_passing": 2, "failures_before_warning": 1,
	   "failures_before_critical": 3},
	  {"ID": "h", "Name": "h", "H2PING": "127.0.0.1:9001", "H2PingUseTLS": false, "Interval": "5s"},
	  {"id": "w", "name": "w", "http": "http://x", "method": "POST", "body": "{}", "disable_redirects": true,
	   "header": {"X-A": ["b"]}, "interval": "5s"},
	  {"id": "a", "name": "a", "alias_service": "web", "alias_node": "n2"},
	  {"id": "d", "name": "d", "docker_container_id": "abc", "args": ["/check"], "shell": "/bin/sh", "interval": "5s"},
	  {"id": "t", "name": "t", "tcp": "127.0.0.1:1", "tcp_use_tls": true, "interval": "5s"},
	  {"id": "u", "name": "u", "udp": "127.0.0.1:53", "interval": "5s"}
	]}`)
	cfg, _, err := testLoader().Load([]string{"-dev", "-config-file", f})
	if err != nil {
		t.Fatal(err)
	}
	want := []*structs.CheckDefinition{
		{ID: "g", Name: "g", GRPC: "127.0.0.1:9000/svc", GRPCUseTLS: true, TLSServerName: "x.local", TLSSkipVerify: true,
			Interval: "5s", SuccessBeforePassing: 2, FailuresBeforeWarning: 1, FailuresBeforeCritical: 3},
		{ID: "h", Name: "h", H2PING: "127.0.0.1:9001", Interval: "5s"},
		{ID: "w", Name: "w", HTTP: "http://x", Method: "POST", Body: "{}", DisableRedirects: true,
			Header: map[string][]string{"X-A": {"b"}}, Interval: "5s"},
		{ID: "a", Name: "a", AliasService: "web", AliasNode: "n2"},
		{ID: "d", Name: "d", DockerContainerID: "abc", Args: []string{"/check"}, Shell: "/bin/sh", Interval: "5s"},
		{ID: "t", Name: "t", TCP: "127.0.0.1:1", TCPUseTLS: true, Interval: "5s"},
		{ID: "u", Name: "u", UDP: "127.0.0.1:53", Interval: "5s"},
	}
	if !reflect.DeepEqual(cfg.Checks, want) {
		t.Fatalf("\n got %#v\nwant %#v", cfg.Checks, want)
	}
	if cfg.CheckUpdateInterval != 30*time.Second {
		t.Fatalf("check_update_interval = %v", cfg.CheckUpdateInterval)
	}
	bad := writeFile(t, dir, "bad.json", `{"checks": [{"id": "g", "failures_before_critical": "x"}]}`)
	if _, _, err := testLoader().Load([]string{"-dev", "-config-file", bad}); err == nil {
		t.Fatal("a non-number failures_before_critical was accepted")
	}
}
