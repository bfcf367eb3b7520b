package config

import (
	"strings"
	"testing"
)

func TestSecurity_FailClosed(t *testing.T) {
	cases := []struct {
		name, file, body, want string
	}{
		{"acl deny", "a.json", `{"acl":{"enabled":true,"default_policy":"deny"}}`, `acl.default_policy = "deny" with ACLs enabled`},
		{"acl deny hcl", "a.hcl", "acl {\n  enabled = true\n  default_policy = \"deny\"\n}\n", `acl.default_policy = "deny"`},
		{"legacy acl", "a.json", `{"acl_datacenter":"dc1","acl_default_policy":"deny"}`, `acl_default_policy = "deny"`},
		{"tls defaults", "a.json", `{"tls":{"defaults":{"verify_incoming":true}}}`, `tls.defaults.verify_incoming = true`},
		{"tls internal_rpc hcl", "a.hcl", "tls {\n  internal_rpc {\n    verify_server_hostname = true\n  }\n}\n", `tls.internal_rpc.verify_server_hostname = true`},
		{"legacy verify", "a.json", `{"verify_outgoing":true}`, `verify_outgoing = true`},
		{"bad key", "a.json", `{"encrypt":"c2hvcnQ="}`, `encrypt: key size is 5 bytes`},
		{"kv limit", "a.json", `{"limits":{"kv_max_value_size":0}}`, `limits.kv_max_value_size: must be a positive number`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := writeFile(t, t.TempDir(), tc.file, tc.body)
			_, _, err := testLoader().Load([]string{"-dev", "-config-file", f})
			if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("got %v, want one line containing %q", err, tc.want)
			}
		})
	}
}

func TestSecurity_AcceptedSettings(t *testing.T) {
	dir := t.TempDir()
	f := writeFile(t, dir, "a.json", `{"acl":{"enabled":true,"default_policy":"allow"},"tls":{"defaults":{"verify_incoming":false,"ca_file":"x"}},
		"encrypt":"pUqJrVyVRj5jsiYEkM/tFQYfWyJIv4s3XkvDwy7Cu5s=","limits":{"kv_max_value_size":1024,"txn_max_req_len":5},"encrypt_verify_incoming":false}`)
	cfg, res, err := testLoader().Load([]string{"-dev", "-config-file", f})
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.EncryptKey) != 32 || cfg.KVMaxValueSize != 1024 || !cfg.EncryptPlainIncoming || cfg.EncryptPlainOutgoing {
		t.Fatalf("cfg: key %d bytes, kv max %d", len(cfg.EncryptKey), cfg.KVMaxValueSize)
	}
	joined := strings.Join(res.Warnings, "\n")
	for _, key := range []string{`"acl.enabled"`, `"acl.default_policy"`, `"tls.defaults.ca_file"`} {
		if !strings.Contains(joined, key) {
			t.Errorf("no warning for %s:\n%s", key, joined)
		}
	}
	if strings.Contains(joined, `"encrypt"`) || strings.Contains(joined, "kv_max_value_size") {
		t.Errorf("implemented keys warned:\n%s", joined)
	}
}

func TestNodeMeta(t *testing.T) {
	f := writeFile(t, t.TempDir(), "a.json", `{"node_meta":{"rack":"r1","os":"linux"}}`)
	cfg, _, err := testLoader().Load([]string{"-dev", "-config-file", f, "-node-meta", "rack:r2", "-node-meta", "zone:"})
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.NodeMeta) != 3 || cfg.NodeMeta["rack"] != "r2" || cfg.NodeMeta["os"] != "linux" || cfg.NodeMeta["zone"] != "" {
		t.Fatalf("node meta %v", cfg.NodeMeta)
	}
	_, _, err = testLoader().Load([]string{"-dev", "-node-meta", "consul-x:1"})
	if err == nil || err.Error() != "node_meta invalid: Couldn't load metadata pair ('consul-x', '1'): Key prefix 'consul-' is reserved for internal use" {
		t.Fatalf("reserved key: %v", err)
	}
}
