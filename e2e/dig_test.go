package e2e

import (
	"context"
	"os"
	"os/exec"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"
	"github.com/minconsul/minconsul/testutil"
)

// needDig returns dig's path; without it the test skips, or fails under
// CI=true (where .ci/run installs dnsutils).
func needDig(t *testing.T) string {
	t.Helper()
	dig, err := exec.LookPath("dig")
	if err == nil {
		return dig
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("CI=true but dig is not installed (apt-get install -y dnsutils)")
	}
	t.Skip("dig not installed; apt-get install -y dnsutils (set CI=true to fail instead)")
	return ""
}

// dig as a user types it, on what the other e2e tests leave out: only the
// passing instance is in DNS, tag and RFC 2782 names, TCP, the node name,
// and a reverse lookup.
func TestE2E_Dig(t *testing.T) {
	dig := needDig(t)
	bin := testutil.Binary(t)
	args := append([]string{"agent", "-node", "dignode", "-bootstrap", "-advertise", "127.0.0.1", "-data-dir", t.TempDir()}, loopbackPorts...)
	p := startProc(t, bin, args...)
	p.waitLeader("dignode")
	c := p.client()
	for i, addr := range []string{"127.0.0.2", "127.0.0.3"} {
		id := []string{"web-ok", "web-bad"}[i]
		err := c.Agent().ServiceRegister(&api.AgentServiceRegistration{ID: id, Name: "web", Address: addr, Port: 8080 + i,
			Tags: []string{"v" + string(rune('1'+i))}, Check: &api.AgentServiceCheck{TTL: "60s"}})
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := c.Agent().UpdateTTL("service:web-ok", "fine", api.HealthPassing); err != nil {
		t.Fatal(err)
	}

	host, port, _ := strings.Cut(p.DNS, ":")
	q := func(args ...string) []string {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		out, err := exec.CommandContext(ctx, dig, append([]string{"@" + host, "-p", port, "+short", "+tries=1", "+time=5"}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("dig %v: %v\n%s", args, err, out)
		}
		if s := strings.TrimSpace(string(out)); s != "" {
			return strings.Split(s, "\n")
		}
		return nil
	}
	expect := func(want string, args ...string) {
		t.Helper()
		if got := strings.Join(q(args...), " | "); got != want {
			t.Errorf("dig %v = %q, want %q", args, got, want)
		}
	}
	expect("127.0.0.2", "web.service.consul")         // the critical 127.0.0.3 is left out
	expect("127.0.0.2", "+tcp", "web.service.consul") // over TCP too
	expect("", "v2.web.service.consul")               // the only v2 instance is critical: NXDOMAIN
	expect("1 1 8080 7f000002.addr.dc1.consul.", "v1.web.service.consul", "SRV")
	expect("1 1 8080 7f000002.addr.dc1.consul.", "_web._tcp.service.consul", "SRV")
	expect("1 1 8080 7f000002.addr.dc1.consul.", "_web._v1.service.dc1.consul", "SRV")
	expect("127.0.0.1", "dignode.node.consul")
	expect("dignode.node.dc1.consul.", "-x", "127.0.0.1")

	// The failed instance comes back once its check passes.
	if err := c.Agent().UpdateTTL("service:web-bad", "fine now", api.HealthPassing); err != nil {
		t.Fatal(err)
	}
	got := q("web.service.consul")
	sort.Strings(got)
	if strings.Join(got, " | ") != "127.0.0.2 | 127.0.0.3" {
		t.Errorf("dig web.service.consul after the check passed = %q, want both instances", got)
	}
}
