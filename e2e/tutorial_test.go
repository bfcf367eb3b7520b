package e2e

import (
	"fmt"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/minconsul/minconsul/testutil"
)

// buildHelloImage builds examples/tutorial's hello-world image from its
// Dockerfile, with the static binary built here (as `make tutorial` does),
// under a unique tag removed at cleanup. The base name stays hello-world:
// it is the service name.
func buildHelloImage(t *testing.T, id string) string {
	t.Helper()
	return buildScratchImage(t, id, "minconsul-e2e/hello-world:"+id, "examples/tutorial/Dockerfile",
		testutil.StaticBinary(t, "./examples/tutorial/hello-world"), "hello-world")
}

var agentStartedRE = regexp.MustCompile(`agent started: .*http=(\S+) dns=(\S+)`)

// TestDocker_Tutorial brings examples/tutorial/docker-compose.yml up as
// the README says and runs the tutorial's dig and curl lines (miekg/dns and
// net/http, plus dig when installed): the hello-world container is in DNS
// and the catalog without any registration call, scaling it adds SRV
// answers, and the KV part works.
func TestDocker_Tutorial(t *testing.T) {
	needDocker(t)
	composeCommand(t) // skip before building anything when there is no compose
	id := runID(t)
	checkNothingLeft(t, id)
	img, hello := buildImage(t, id), buildHelloImage(t, id)

	file := filepath.Join(testutil.RepoRoot(), "examples", "tutorial", "docker-compose.yml")
	env := []string{"MINCONSUL_IMAGE=" + img, "HELLO_IMAGE=" + hello, "MINCONSUL_HTTP_PORT=0", "MINCONSUL_DNS_PORT=0",
		"MINCONSUL_SERVER_PORT=0", "MINCONSUL_SERF_PORT=0"}
	dc := composeProject(t, file, "mce2etut"+id, env)
	if _, err := dc(3*time.Minute, "up", "-d", "--no-build"); err != nil {
		t.Fatal(err)
	}

	// The server runs on the host's network with port 0: its log says where.
	var httpAddr, dnsAddr string
	testutil.Retry(t, 60*time.Second, func() error {
		out, err := dc(time.Minute, "logs", "--no-color", "consul")
		if err != nil {
			return err
		}
		m := agentStartedRE.FindStringSubmatch(out)
		if m == nil {
			return fmt.Errorf("no `agent started` line yet")
		}
		httpAddr, dnsAddr = loopback(t, m[1]), loopback(t, m[2])
		return nil
	})
	out, err := dc(time.Minute, "port", "hello-world", "8080")
	if err != nil {
		t.Fatal(err)
	}
	_, published, _ := net.SplitHostPort(firstLine(out))

	// dig hello-world.service.consul SRV / A, then curl the address found.
	var target string
	srvs := waitTutorialSRV(t, dnsAddr, 1)
	if fmt.Sprint(srvs[0].Port) != published {
		t.Fatalf("SRV port %d, want the published port %s", srvs[0].Port, published)
	}
	target = srvs[0].Target
	if target != "myconsul.node.dc1.consul." {
		t.Errorf("SRV target %q, want the tutorial's myconsul.node.dc1.consul.", target)
	}
	a := testutil.DNSQuery(t, dnsAddr, "hello-world.service.consul", dns.TypeA)
	if len(a.Answer) == 0 {
		t.Fatalf("no A answer: %v", a)
	}
	ip := a.Answer[0].(*dns.A).A.String()
	r, err := httpCall(http.MethodGet, "http://"+net.JoinHostPort(ip, published)+"/", "")
	if err != nil || !strings.HasPrefix(r.body, "Hello, world!") {
		t.Fatalf("curl the registered address %s:%s: %v %+v", ip, published, err, r)
	}
	var catalog []struct {
		ServicePort int
		ServiceMeta map[string]string
	}
	if err := getJSON("http://"+httpAddr+"/v1/catalog/service/hello-world", &catalog); err != nil || len(catalog) != 1 {
		t.Fatalf("catalog: %v %+v", err, catalog)
	}
	if fmt.Sprint(catalog[0].ServicePort) != published || catalog[0].ServiceMeta["external-source"] != "docker" {
		t.Fatalf("catalog entry %+v", catalog[0])
	}
	if _, err := exec.LookPath("dig"); err == nil {
		host, port, _ := net.SplitHostPort(dnsAddr)
		out, err := exec.Command("dig", "@"+host, "-p", port, "+short", "hello-world.service.consul", "SRV").CombinedOutput()
		if err != nil || !strings.Contains(string(out), " "+published+" myconsul.node.dc1.consul.") {
			t.Errorf("dig SRV: %v %s", err, out)
		}
	} else {
		t.Log("dig not installed; the miekg/dns queries above stand in for it")
	}

	// The tutorial's KV lines.
	if r, err := httpCall(http.MethodPut, "http://"+httpAddr+"/v1/kv/docker/rules", "Yes, it does"); err != nil || strings.TrimSpace(r.body) != "true" {
		t.Fatalf("kv put: %v %+v", err, r)
	}
	if r, err := httpCall(http.MethodGet, "http://"+httpAddr+"/v1/kv/docker/rules?raw", ""); err != nil || r.body != "Yes, it does" {
		t.Fatalf("kv get: %v %+v", err, r)
	}

	// Every container registers itself: scaling adds SRV answers.
	if _, err := dc(3*time.Minute, "up", "-d", "--no-build", "--scale", "hello-world=3"); err != nil {
		t.Fatal(err)
	}
	waitTutorialSRV(t, dnsAddr, 3)
}

// loopback turns a wildcard listen address into one this host can dial.
func loopback(t *testing.T, addr string) string {
	t.Helper()
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatalf("address %q: %v", addr, err)
	}
	return net.JoinHostPort("127.0.0.1", port)
}

// waitTutorialSRV waits until hello-world has n SRV answers (its
// HEALTHCHECK must pass first: a starting container is critical).
func waitTutorialSRV(t *testing.T, dnsAddr string, n int) []*dns.SRV {
	t.Helper()
	var srvs []*dns.SRV
	testutil.Retry(t, 60*time.Second, func() error {
		srvs = nil
		for _, rr := range testutil.DNSQuery(t, dnsAddr, "hello-world.service.consul", dns.TypeSRV).Answer {
			if s, ok := rr.(*dns.SRV); ok {
				srvs = append(srvs, s)
			}
		}
		if len(srvs) != n {
			return fmt.Errorf("%d SRV answers, want %d", len(srvs), n)
		}
		return nil
	})
	return srvs
}
