// Package e2e runs the built minconsul binary as real processes and drives
// it with the official consul/api client, miekg/dns, the CLI (also under
// the name "consul") and, where installed, dig.
package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"
	"github.com/miekg/dns"
	"github.com/minconsul/minconsul/testutil"
)

var loopbackPorts = []string{"-client", "127.0.0.1", "-bind", "127.0.0.1", "-http-port", "0", "-dns-port", "0", "-server-port", "0", "-serf-lan-port", "0"}

// The tutorial, as a user runs it: one bootstrap server, a registrator-style
// registration, dig/miekg for DNS, curl-style HTTP for catalog and KV.
func TestE2E_Tutorial(t *testing.T) {
	bin := testutil.Binary(t)
	args := append([]string{"-node", "myconsul", "-bootstrap", "-advertise", "127.0.0.1", "-data-dir", t.TempDir()}, loopbackPorts...)
	p := startProc(t, bin, args...)
	p.waitLeader("myconsul")
	c := p.client()

	body := `{"ID":"d7492c56c92a:sad_leakey:8080","Name":"hello-world","Port":8080}`
	req, _ := http.NewRequest(http.MethodPut, "http://"+p.HTTP+"/v1/agent/service/register", strings.NewReader(body))
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("register: %v %v", err, resp)
	}
	resp.Body.Close()

	m := new(dns.Msg)
	m.SetQuestion("hello-world.service.consul.", dns.TypeSRV)
	r, _, err := new(dns.Client).Exchange(m, p.DNS)
	if err != nil || len(r.Answer) != 1 {
		t.Fatalf("SRV: %v %v", err, r)
	}
	if srv := r.Answer[0].(*dns.SRV); srv.Port != 8080 || srv.Target != "myconsul.node.dc1.consul." {
		t.Fatalf("SRV: %v", srv)
	}
	if len(r.Extra) == 0 || r.Extra[0].(*dns.A).A.String() != "127.0.0.1" {
		t.Fatalf("SRV extra: %v", r.Extra)
	}
	if dig, err := exec.LookPath("dig"); err == nil {
		host, port, _ := strings.Cut(p.DNS, ":")
		out, err := exec.Command(dig, "@"+host, "-p", port, "+short", "hello-world.service.consul", "SRV").CombinedOutput()
		if err != nil || strings.TrimSpace(string(out)) != "1 1 8080 myconsul.node.dc1.consul." {
			t.Fatalf("dig SRV: %v %q", err, out)
		}
		out, err = exec.Command(dig, "@"+host, "-p", port, "+short", "hello-world.service.consul").CombinedOutput()
		if err != nil || strings.TrimSpace(string(out)) != "127.0.0.1" {
			t.Fatalf("dig A: %v %q", err, out)
		}
	} else {
		t.Log("dig not installed; DNS checked with miekg/dns only")
	}

	rows, _, err := c.Catalog().Service("hello-world", "", nil)
	if err != nil || len(rows) != 1 || rows[0].ServicePort != 8080 || rows[0].Node != "myconsul" || rows[0].Address != "127.0.0.1" {
		t.Fatalf("catalog: %v %+v", err, rows)
	}

	req, _ = http.NewRequest(http.MethodPut, "http://"+p.HTTP+"/v1/kv/docker/rules", strings.NewReader("Yes, it does"))
	if resp, err = http.DefaultClient.Do(req); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	resp, err = http.Get("http://" + p.HTTP + "/v1/kv/docker/rules")
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(raw), `"Key":"docker/rules","Flags":0,"Value":"WWVzLCBpdCBkb2Vz"`) {
		t.Fatalf("kv get: %s", raw)
	}
	resp, err = http.Get("http://" + p.HTTP + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.Request.URL.Path != "/ui/" {
		t.Fatalf("/ did not redirect to /ui/: ended at %s", resp.Request.URL)
	}
}

// Installed as "consul", the usual command lines work, including a Consul
// JSON config file with keys minconsul does not implement.
func TestE2E_ConsulNamedCLIAndConfigFile(t *testing.T) {
	consul := consulBin(t)
	cfgDir := t.TempDir()
	cfg := map[string]any{
		"node_name": "cfgnode", "datacenter": "dc1", "server": true, "bootstrap": true,
		"data_dir": t.TempDir(), "bind_addr": "127.0.0.1", "client_addr": "127.0.0.1", "advertise_addr": "127.0.0.1",
		"ports": map[string]any{"http": 0, "dns": 0, "server": 0, "serf_lan": 0, "grpc": 8502},
		"acl":   map[string]any{"enabled": false},
		"services": []any{map[string]any{"name": "redis", "port": 6379, "tags": []string{"primary"},
			"check": map[string]any{"ttl": "30s"}}},
	}
	b, _ := json.Marshal(cfg)
	cfgFile := filepath.Join(cfgDir, "consul.json")
	if err := os.WriteFile(cfgFile, b, 0o644); err != nil {
		t.Fatal(err)
	}
	p := startProc(t, consul, "agent", "-config-file", cfgFile)
	p.waitLeader("cfgnode")
	if !strings.Contains(p.logs(), "acl") {
		t.Errorf("no warning naming the unsupported acl key:\n%s", p.logs())
	}
	c := p.client()
	testutil.Retry(t, 10*time.Second, func() error {
		rows, _, err := c.Catalog().Service("redis", "primary", nil)
		if err != nil || len(rows) != 1 || rows[0].ServicePort != 6379 {
			return fmt.Errorf("config service: %v %+v", err, rows)
		}
		return nil
	})

	env := []string{"CONSUL_HTTP_ADDR=" + p.HTTP}
	if out, err := run(t, env, consul, "kv", "put", "app/config", "hello"); err != nil || !strings.Contains(out, "Success! Data written to: app/config") {
		t.Fatalf("kv put: %v %q", err, out)
	}
	if out, err := run(t, env, consul, "kv", "get", "app/config"); err != nil || strings.TrimSpace(out) != "hello" {
		t.Fatalf("kv get: %v %q", err, out)
	}
	if out, err := run(t, nil, consul, "kv", "get", "-http-addr", p.HTTP, "-recurse", "app/"); err != nil || strings.TrimSpace(out) != "app/config:hello" {
		t.Fatalf("kv get -recurse: %v %q", err, out)
	}
	if out, err := run(t, env, consul, "kv", "get", "missing"); err == nil || !strings.Contains(out, "No key exists at: missing") {
		t.Fatalf("kv get missing: %v %q", err, out)
	}
	if out, err := run(t, env, consul, "members"); err != nil || !strings.Contains(out, "cfgnode") || !strings.Contains(out, "alive") {
		t.Fatalf("members: %v %q", err, out)
	}
	if out, err := run(t, env, consul, "catalog", "services"); err != nil || !strings.Contains(out, "redis") {
		t.Fatalf("catalog services: %v %q", err, out)
	}
	out, err := run(t, nil, consul, "version", "-format=json")
	var v map[string]any
	if err != nil || json.Unmarshal([]byte(out), &v) != nil || v["Version"] == nil {
		t.Fatalf("version -format=json: %v %q", err, out)
	}
	if out, err := run(t, env, consul, "kv", "delete", "app/config"); err != nil || !strings.Contains(out, "Success! Deleted key: app/config") {
		t.Fatalf("kv delete: %v %q", err, out)
	}
	if out, err := run(t, env, consul, "leave"); err != nil {
		t.Fatalf("leave: %v %q", err, out)
	}
	select {
	case <-p.Exited():
	case <-time.After(10 * time.Second):
		t.Fatal("agent still running after consul leave")
	}
}

// Every acknowledged write survives SIGKILL; SIGTERM shuts down within 5 s.
func TestE2E_KillRestartKeepsWrites(t *testing.T) {
	bin := testutil.Binary(t)
	dir := t.TempDir()
	args := append([]string{"agent", "-node", "disk", "-bootstrap", "-advertise", "127.0.0.1", "-data-dir", dir}, loopbackPorts...)
	p := startProc(t, bin, args...)
	p.waitLeader("disk")
	c := p.client()
	const n = 200
	for i := 0; i < n; i++ {
		ok, _, err := c.KV().CAS(&api.KVPair{Key: fmt.Sprintf("acked/%03d", i), Value: []byte(fmt.Sprint(i))}, nil)
		if err != nil || !ok {
			t.Fatalf("put %d: %v %v", i, ok, err)
		}
	}
	if err := c.Agent().ServiceRegister(&api.AgentServiceRegistration{Name: "keep", Port: 1}); err != nil {
		t.Fatal(err)
	}
	if err := p.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-p.Exited()

	p2 := startProc(t, bin, args...)
	p2.waitLeader("disk")
	c2 := p2.client()
	pairs, _, err := c2.KV().List("acked/", nil)
	if err != nil || len(pairs) != n {
		t.Fatalf("after SIGKILL restart: %v, %d of %d keys", err, len(pairs), n)
	}
	for i, kv := range pairs {
		if string(kv.Value) != fmt.Sprint(i) {
			t.Fatalf("key %s = %q", kv.Key, kv.Value)
		}
	}
	rows, _, err := c2.Catalog().Service("keep", "", nil)
	if err != nil || len(rows) != 1 {
		t.Fatalf("service after restart: %v %+v", err, rows)
	}
	start := time.Now()
	if err := p2.signal(syscall.SIGTERM, 5*time.Second); err != nil {
		t.Fatalf("SIGTERM: %v", err)
	}
	t.Logf("SIGTERM shutdown took %v", time.Since(start))
}
