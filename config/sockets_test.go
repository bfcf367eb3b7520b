package config

import (
	"strings"
	"testing"
	"time"
)

func TestFiles_UnixSocketAndTelemetry(t *testing.T) {
	dir := t.TempDir()
	f := writeFile(t, dir, "a.json", `{"addresses": {"http": "unix:///tmp/mc.sock"},
		"unix_sockets": {"mode": "600", "user": "1000", "group": "wheel"},
		"telemetry": {"disable_hostname": true, "prometheus_retention_time": "30s"}}`)
	cfg, _, err := testLoader().Load([]string{"-dev", "-config-file", f})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.HTTPAddr != "unix:///tmp/mc.sock" || cfg.UnixSockets.Mode != "600" || cfg.UnixSockets.User != "1000" ||
		cfg.UnixSockets.Group != "wheel" || !cfg.Telemetry.DisableHostname || cfg.Telemetry.PrometheusRetention != 30*time.Second {
		t.Fatalf("%+v", cfg)
	}
	for body, want := range map[string]string{
		`{"unix_sockets": {"mode": "9x"}}`:         "invalid mode specified: 9x",
		`{"addresses": {"dns": "unix:///tmp/d"}}`:  "addresses.dns: unix sockets are not supported",
		`{"addresses": {"http": "unix://"}}`:       "addresses.http: unix sockets are not supported",
		`{"telemetry": {"disable_hostname": "x"}}`: "telemetry.disable_hostname: expected a boolean",
	} {
		f := writeFile(t, dir, "b.json", body)
		if _, _, err := testLoader().Load([]string{"-dev", "-config-file", f}); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", body, err, want)
		}
	}
}
