package e2e

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
	"github.com/minconsul/minconsul/testutil"
)

// A config minconsul cannot enforce refuses to start, with one line naming
// the key; it never runs open.
func TestE2E_FailClosed(t *testing.T) {
	bin := testutil.Binary(t)
	for name, conf := range map[string]string{
		`acl.default_policy = "deny"`:         `{"acl":{"enabled":true,"default_policy":"deny"}}`,
		`tls.defaults.verify_incoming = true`: `{"tls":{"defaults":{"verify_incoming":true}}}`,
	} {
		f := filepath.Join(t.TempDir(), "c.json")
		if err := os.WriteFile(f, []byte(conf), 0o644); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		out, err := exec.CommandContext(ctx, bin, append([]string{"agent", "-dev", "-config-file", f}, loopbackPorts...)...).CombinedOutput()
		cancel()
		var ee *exec.ExitError
		if err == nil || !errors.As(err, &ee) || ee.ExitCode() != 1 {
			t.Fatalf("%s: exit %v\n%s", name, err, out)
		}
		lines := strings.Split(strings.TrimSpace(string(out)), "\n")
		if len(lines) != 1 || !strings.Contains(lines[0], name) {
			t.Fatalf("%s: want one line naming the key, got %q", name, out)
		}
	}
}

// keygen, -encrypt, keyring -list through the CLI, and consul.service.consul.
func TestE2E_EncryptAndConsulService(t *testing.T) {
	bin := testutil.Binary(t)
	out, err := exec.Command(bin, "keygen").Output()
	key := strings.TrimSpace(string(out))
	if raw, derr := base64.StdEncoding.DecodeString(key); err != nil || derr != nil || len(raw) != 32 {
		t.Fatalf("keygen: %q %v %v", out, err, derr)
	}
	args := append([]string{"agent", "-node", "enc1", "-bootstrap", "-advertise", "127.0.0.1", "-data-dir", t.TempDir(), "-encrypt", key}, loopbackPorts...)
	p := startProc(t, bin, args...)
	p.waitLeader("enc1")
	out, err = exec.Command(bin, "keyring", "-list", "-http-addr", p.HTTP).CombinedOutput()
	if err != nil || !strings.Contains(string(out), key+" [1/1]") {
		t.Fatalf("keyring -list: %v\n%s", err, out)
	}
	testutil.Retry(t, 10*time.Second, func() error {
		m := new(dns.Msg)
		m.SetQuestion("consul.service.consul.", dns.TypeA)
		r, _, err := new(dns.Client).Exchange(m, p.DNS)
		if err != nil {
			return err
		}
		if len(r.Answer) != 1 || r.Answer[0].(*dns.A).A.String() != "127.0.0.1" {
			return fmt.Errorf("consul.service.consul: %v", r.Answer)
		}
		return nil
	})
	if dig, err := exec.LookPath("dig"); err == nil {
		host, port, _ := strings.Cut(p.DNS, ":")
		out, err := exec.Command(dig, "@"+host, "-p", port, "+short", "consul.service.consul").CombinedOutput()
		if err != nil || strings.TrimSpace(string(out)) != "127.0.0.1" {
			t.Fatalf("dig consul.service.consul: %v %q", err, out)
		}
	}
}
