package config

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/minconsul/minconsul/structs"
)

// Every check field Consul's config files take, in both spellings, and
// check_update_interval.
func TestFiles_CheckFields(t *testing.T) {
	dir := t.TempDir()
	f := writeFile(t, dir, "c.json", `{"check_update_interval": "30s", "check_output_max_size": 100, "checks": [
	  {"id": "g", "name": "g", "grpc": "127.0.0.1:9000/svc", "grpc_use_tls": true, "tls_server_name": "x.local",
	   "tls_skip_verify": true, "interval": "5s", "success_before_passing": 2, "failures_before_warning": 1,
	   "failures_before_critical": 3},
	  {"ID": "h", "Name": "h", "H2PING": "127.0.0.1:9001", "H2PingUseTLS": false, "Interval": "5s"},
	  {"id": "w", "name": "w", "http": "http://x", "method": "POST", "body": "{}", "disable_redirects": true,
	   "header": {"X-A": ["b"]}, "interval": "5s"},
	  {"id": "a", "name": "a", "alias_service": "web", "alias_node": "n2"},
	  {"id": "d", "name": "d", "docker_container_id": "abc", "args": ["/check"], "shell": "/bin/sh", "interval": "5s"},
	  {"id": "t", "name": "t", "tcp": "127.0.0.1:1", "tcp_use_tls": true, "interval": "5s", "output_max_size": 10},
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
		{ID: "t", Name: "t", TCP: "127.0.0.1:1", TCPUseTLS: true, Interval: "5s", OutputMaxSize: 10},
		{ID: "u", Name: "u", UDP: "127.0.0.1:53", Interval: "5s"},
	}
	if !reflect.DeepEqual(cfg.Checks, want) {
		t.Fatalf("\n got %#v\nwant %#v", cfg.Checks, want)
	}
	if cfg.CheckUpdateInterval != 30*time.Second {
		t.Fatalf("check_update_interval = %v", cfg.CheckUpdateInterval)
	}
	if cfg.CheckOutputMaxSize != 100 {
		t.Fatalf("check_output_max_size = %d", cfg.CheckOutputMaxSize)
	}
	bad := writeFile(t, dir, "bad.json", `{"checks": [{"id": "g", "failures_before_critical": "x"}]}`)
	if _, _, err := testLoader().Load([]string{"-dev", "-config-file", bad}); err == nil {
		t.Fatal("a non-number failures_before_critical was accepted")
	}
}

// check_output_max_size: 4096 unless set, from a file or the flag (the
// flag wins), and Consul's refusal of anything below 1.
func TestLoad_CheckOutputMaxSize(t *testing.T) {
	cfg, _, err := testLoader().Load([]string{"-dev"})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.CheckOutputMaxSize != 4096 {
		t.Fatalf("default check_output_max_size = %d", cfg.CheckOutputMaxSize)
	}
	dir := t.TempDir()
	f := writeFile(t, dir, "c.json", `{"check_output_max_size": 100}`)
	if cfg, _, err = testLoader().Load([]string{"-dev", "-config-file", f, "-check_output_max_size", "7"}); err != nil {
		t.Fatal(err)
	}
	if cfg.CheckOutputMaxSize != 7 {
		t.Fatalf("flag check_output_max_size = %d", cfg.CheckOutputMaxSize)
	}
	const want = "check_output_max_size must be positive, to discard check output use the discard_check_output flag"
	for _, args := range [][]string{{"-dev", "-check_output_max_size", "0"}, {"-dev", "-check_output_max_size", "-5"},
		{"-dev", "-config-file", writeFile(t, dir, "neg.json", `{"check_output_max_size": -1}`)}} {
		if _, _, err := testLoader().Load(args); err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("%v: err %v, want %q", args, err, want)
		}
	}
}
