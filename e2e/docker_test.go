package e2e

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"
	"github.com/minconsul/minconsul/testutil"
)

// The release image builds from the Dockerfile with no registry (FROM
// scratch) and the static binary runs in it.
func TestDocker_ImageBuilds(t *testing.T) {
	needDocker(t)
	id := runID(t)
	checkNothingLeft(t, id)
	img := buildImage(t, id)
	out := mustDocker(t, "run", "--rm", "--name", "mce2e-version-"+id, "--label", dockerLabel+"="+id, img, "version")
	if !strings.HasPrefix(out, "Consul v") {
		t.Fatalf("version in the image: %q", out)
	}
	// The image's default command is a dev agent listening on all interfaces.
	var cfg struct {
		Entrypoint []string
		Cmd        []string
	}
	if err := json.Unmarshal([]byte(mustDocker(t, "inspect", "-f", "{{json .Config}}", img)), &cfg); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(cfg.Entrypoint, []string{"/bin/minconsul"}) || len(cfg.Cmd) == 0 || cfg.Cmd[0] != "agent" {
		t.Fatalf("image config: %+v", cfg)
	}
}

// examples/cluster/docker-compose.yml as a user runs it: three servers
// bootstrap with -bootstrap-expect 3, a client agent joins, a service
// registered on the client agent is answered by a server's DNS.
func TestDocker_Compose(t *testing.T) {
	needDocker(t)
	composeCommand(t) // skip before building anything when there is no compose
	id := runID(t)
	checkNothingLeft(t, id)
	img := buildImage(t, id)

	file := filepath.Join(testutil.RepoRoot(), "examples", "cluster", "docker-compose.yml")
	env := []string{"MINCONSUL_IMAGE=" + img, "MINCONSUL_HTTP_PORT=0", "MINCONSUL_DNS_PORT=0"}
	dc := composeProject(t, file, "mce2e"+id, env)
	start := time.Now()
	if _, err := dc(3*time.Minute, "up", "-d"); err != nil {
		t.Fatal(err)
	}
	t.Logf("compose up took %v", time.Since(start).Round(time.Millisecond))

	out, err := dc(time.Minute, "port", "client", "8500")
	if err != nil {
		t.Fatal(err)
	}
	httpAddr := strings.Replace(firstLine(out), "0.0.0.0:", "127.0.0.1:", 1)
	waitCluster(t, httpAddr, 3, 4, 60*time.Second)
	t.Logf("cluster of 3 servers + 1 client formed %v after `up`", time.Since(start).Round(time.Millisecond))

	svc := "web-" + id
	body := fmt.Sprintf(`{"ID":"%s-1","Name":%q,"Tags":["v1"],"Port":8080}`, svc, svc)
	if r, err := httpCall(http.MethodPut, "http://"+httpAddr+"/v1/agent/service/register", body); err != nil || r.status != 200 {
		t.Fatalf("register on the client agent: %v %+v", err, r)
	}

	clientIP := composeIP(t, dc, "client")
	server := composeIP(t, dc, "server2")
	out, err = dc(time.Minute, "port", "--protocol", "udp", "client", "8600")
	if err != nil {
		t.Fatal(err)
	}
	dnsPublished := strings.Replace(firstLine(out), "0.0.0.0:", "127.0.0.1:", 1)
	// A server answers from its own replica (anti-entropy sync, then Raft
	// replication), the client agent through the published port.
	for _, dnsAddr := range []string{net.JoinHostPort(server, "8600"), dnsPublished} {
		testutil.Retry(t, 20*time.Second, func() error {
			m := new(dns.Msg)
			m.SetQuestion(svc+".service.consul.", dns.TypeSRV)
			r, _, err := (&dns.Client{Timeout: 2 * time.Second}).Exchange(m, dnsAddr)
			if err != nil {
				return err
			}
			if len(r.Answer) != 1 {
				return fmt.Errorf("%s: %d answers: %v", dnsAddr, len(r.Answer), r)
			}
			srv, ok := r.Answer[0].(*dns.SRV)
			if !ok || srv.Port != 8080 || srv.Target != "client.node.dc1.consul." {
				return fmt.Errorf("%s: SRV %v", dnsAddr, r.Answer[0])
			}
			if len(r.Extra) == 0 {
				return fmt.Errorf("%s: no A record in extra", dnsAddr)
			}
			if a, ok := r.Extra[0].(*dns.A); !ok || a.A.String() != clientIP {
				return fmt.Errorf("%s: extra %v, want the client's address %s", dnsAddr, r.Extra[0], clientIP)
			}
			return nil
		})
	}
}

// composeIP is the address of a compose service's container on its network.
func composeIP(t *testing.T, dc func(time.Duration, ...string) (string, error), service string) string {
	t.Helper()
	out, err := dc(time.Minute, "ps", "-q", service)
	if err != nil {
		t.Fatal(err)
	}
	for _, ip := range containerIPs(t, firstLine(out)) {
		return ip
	}
	t.Fatalf("%s has no address", service)
	return ""
}

// dnode is one server container of the partition test: gossip and Raft on
// the cluster network's static address, the HTTP API also on a control
// network, so the test can still talk to a node cut off from the cluster.
type dnode struct {
	name      string
	clusterIP string
	ctlIP     string
}

func (n *dnode) url(path string) string { return "http://" + net.JoinHostPort(n.ctlIP, "8500") + path }

// createNetwork creates a bridge network with a random /24 in
// 172.28.0.0-172.31.255.255 (retrying when the daemon has it in use).
func createNetwork(t *testing.T, id, name string) (string, string) {
	t.Helper()
	var lastErr error
	for i := 0; i < 8; i++ {
		b := make([]byte, 2)
		if _, err := rand.Read(b); err != nil {
			t.Fatal(err)
		}
		subnet := fmt.Sprintf("172.%d.%d", 28+int(b[0])%4, b[1])
		_, err := dockerCmd(time.Minute, nil, "docker", "network", "create", "--driver", "bridge",
			"--label", dockerLabel+"="+id, "--subnet", subnet+".0/24", name)
		if err == nil {
			t.Cleanup(func() {
				if _, err := dockerCmd(time.Minute, nil, "docker", "network", "rm", name); err != nil {
					t.Errorf("remove network: %v", err)
				}
			})
			return name, subnet
		}
		lastErr = err
	}
	t.Fatalf("no free subnet: %v", lastErr)
	return "", ""
}

// TestDocker_Partition cuts the leader's container off the cluster network:
// the old leader (minority) refuses writes and linearizable reads in
// bounded time, the majority elects a leader and keeps writing, and after
// healing every node holds the same history with every acknowledged write.
func TestDocker_Partition(t *testing.T) {
	needDocker(t)
	id := runID(t)
	checkNothingLeft(t, id)
	img := buildImage(t, id)
	clusterNet, subnet := createNetwork(t, id, "mce2e-"+id+"-cluster")
	ctlNet, _ := createNetwork(t, id, "mce2e-"+id+"-ctl")

	nodes := make([]*dnode, 3)
	for i := range nodes {
		nodes[i] = &dnode{name: fmt.Sprintf("mce2e-%s-s%d", id, i+1), clusterIP: fmt.Sprintf("%s.%d", subnet, 11+i)}
	}
	start := time.Now()
	for i, n := range nodes {
		args := []string{"create", "--name", n.name, "--label", dockerLabel + "=" + id,
			"--network", clusterNet, "--ip", n.clusterIP, img,
			"agent", "-server", "-node", fmt.Sprintf("s%d", i+1), "-bootstrap-expect", "3",
			"-bind", n.clusterIP, "-client", "0.0.0.0", "-data-dir", "/consul/data"}
		for _, o := range nodes {
			if o != n {
				args = append(args, "-retry-join", o.clusterIP)
			}
		}
		mustDocker(t, args...)
		t.Cleanup(func() {
			if t.Failed() {
				out, _ := dockerCmd(time.Minute, nil, "docker", "logs", n.name)
				t.Logf("logs of %s:\n%s", n.name, out)
			}
			if _, err := dockerCmd(time.Minute, nil, "docker", "rm", "-f", "-v", n.name); err != nil {
				t.Errorf("remove container: %v", err)
			}
		})
		mustDocker(t, "network", "connect", ctlNet, n.name)
	}
	for _, n := range nodes {
		mustDocker(t, "start", n.name)
		// Dynamic addresses are assigned when the container starts.
		if n.ctlIP = containerIPs(t, n.name)[ctlNet]; n.ctlIP == "" {
			t.Fatalf("%s has no address on %s", n.name, ctlNet)
		}
	}
	for _, n := range nodes {
		waitCluster(t, net.JoinHostPort(n.ctlIP, "8500"), 3, 3, 60*time.Second)
	}
	t.Logf("3 servers up and agreed on a leader after %v", time.Since(start).Round(time.Millisecond))

	h := &history{acked: map[string]string{}, failed: map[string]string{}}
	for i, n := range nodes {
		h.mustPut(t, n, fmt.Sprintf("part/pre-%d", i), "before")
	}

	old := leaderNode(t, nodes[0], nodes)
	if old == nil {
		t.Fatal("no leader among the containers")
	}
	var majority []*dnode
	for _, n := range nodes {
		if n != old {
			majority = append(majority, n)
		}
	}

	// Cut: the old leader keeps only the control network.
	cut := time.Now()
	mustDocker(t, "network", "disconnect", clusterNet, old.name)
	t.Logf("partitioned leader %s (%s)", old.name, old.clusterIP)

	var wg sync.WaitGroup
	minorityErrs := make(chan error, 2)
	wg.Add(2)
	go func() { // the minority cannot commit: a clean 500, bounded, never a hang
		defer wg.Done()
		for i := 0; i < 2; i++ {
			key := fmt.Sprintf("part/minority-%d", i)
			t0 := time.Now()
			r, err := httpCall(http.MethodPut, old.url("/v1/kv/"+key), "lost")
			took := time.Since(t0)
			if err != nil || r.status != http.StatusInternalServerError || took > 12*time.Second {
				minorityErrs <- fmt.Errorf("PUT %s on the minority: %v status=%d body=%q after %v, want 500 within 12s", key, err, r.status, r.body, took)
				return
			}
			h.fail(key, "lost")
			t.Logf("minority PUT %s: %d %q after %v", key, r.status, strings.TrimSpace(r.body), took.Round(time.Millisecond))
		}
	}()
	go func() {
		defer wg.Done()
		t0 := time.Now()
		r, err := httpCall(http.MethodGet, old.url("/v1/kv/part/pre-0?consistent"), "")
		if took := time.Since(t0); err != nil || r.status == http.StatusOK || took > 12*time.Second {
			minorityErrs <- fmt.Errorf("consistent read on the minority: %v status=%d after %v, want an error within 12s", err, r.status, took)
		}
	}()

	// The majority elects one of its own and takes writes through both nodes.
	var newLeader *dnode
	testutil.Retry(t, 20*time.Second, func() error {
		l := leaderNode(t, majority[0], nodes)
		if l == nil || l == old {
			return fmt.Errorf("majority still without a new leader")
		}
		if l2 := leaderNode(t, majority[1], nodes); l2 != l {
			return fmt.Errorf("majority disagrees on the leader")
		}
		newLeader = l
		return nil
	})
	t.Logf("majority elected %s %v after the cut", newLeader.name, time.Since(cut).Round(time.Millisecond))
	for i := 0; i < 10; i++ {
		h.mustPut(t, majority[i%2], fmt.Sprintf("part/majority-%d", i), fmt.Sprintf("v%d", i))
	}
	// The minority still serves stale reads from its replica and knows it
	// has no leader.
	testutil.Retry(t, 15*time.Second, func() error {
		r, err := httpCall(http.MethodGet, old.url("/v1/kv/part/pre-0?stale"), "")
		if err != nil || r.status != 200 || r.header.Get("X-Consul-KnownLeader") != "false" {
			return fmt.Errorf("stale read on the minority: %v %d KnownLeader=%q", err, r.status, r.header.Get("X-Consul-KnownLeader"))
		}
		return nil
	})
	wg.Wait()
	close(minorityErrs)
	for err := range minorityErrs {
		t.Error(err)
	}
	if t.Failed() {
		t.FailNow()
	}

	// Heal, with the same address: the old leader rejoins as a follower.
	heal := time.Now()
	mustDocker(t, "network", "connect", "--ip", old.clusterIP, clusterNet, old.name)
	h.mustPut(t, old, "part/after-heal", "through the old leader")
	t.Logf("write through the old leader acknowledged %v after reconnecting", time.Since(heal).Round(time.Millisecond))
	for _, n := range nodes {
		waitCluster(t, net.JoinHostPort(n.ctlIP, "8500"), 3, 3, 60*time.Second)
	}

	// One history: every node's local replica converges to the same entries
	// (same indexes), holding every acknowledged write and none that failed.
	var final []kvEntry
	testutil.Retry(t, 30*time.Second, func() error {
		var views [][]kvEntry
		for _, n := range nodes {
			var es []kvEntry
			if err := getJSON(n.url("/v1/kv/part/?recurse&stale"), &es); err != nil {
				return err
			}
			views = append(views, es)
		}
		for i := 1; i < len(views); i++ {
			if !reflect.DeepEqual(views[0], views[i]) {
				return fmt.Errorf("replicas differ:\n%s: %v\n%s: %v", nodes[0].name, views[0], nodes[i].name, views[i])
			}
		}
		final = views[0]
		return nil
	})
	got := map[string]string{}
	for _, e := range final {
		got[e.Key] = string(e.Value)
	}
	for k, v := range h.acked {
		if got[k] != v {
			t.Errorf("acknowledged write %s=%q lost: have %q", k, v, got[k])
		}
	}
	for k := range h.failed {
		if _, ok := got[k]; ok {
			t.Errorf("write %s was answered 500 on the minority but is in the history", k)
		}
	}
	var keys []string
	for k := range got {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	t.Logf("healed and converged %v after reconnecting; %d keys on every node: %v; test took %v",
		time.Since(heal).Round(time.Millisecond), len(keys), keys, time.Since(start).Round(time.Millisecond))
}

type kvEntry struct {
	Key         string
	Value       []byte
	Flags       uint64
	CreateIndex uint64
	ModifyIndex uint64
}

// history records which writes were acknowledged and which were answered
// with a failure.
type history struct {
	mu     sync.Mutex
	acked  map[string]string
	failed map[string]string
}

func (h *history) fail(k, v string) { h.mu.Lock(); h.failed[k] = v; h.mu.Unlock() }

// mustPut writes k=v through n, retrying (a KV set is idempotent) until it
// is acknowledged.
func (h *history) mustPut(t *testing.T, n *dnode, k, v string) {
	t.Helper()
	testutil.Retry(t, 30*time.Second, func() error {
		r, err := httpCall(http.MethodPut, n.url("/v1/kv/"+k), v)
		if err != nil || r.status != 200 || strings.TrimSpace(r.body) != "true" {
			return fmt.Errorf("PUT %s through %s: %v %d %q", k, n.name, err, r.status, r.body)
		}
		return nil
	})
	h.mu.Lock()
	h.acked[k] = v
	h.mu.Unlock()
}

// leaderNode is the node that n reports as the Raft leader (nil if none).
func leaderNode(t *testing.T, n *dnode, nodes []*dnode) *dnode {
	t.Helper()
	var addr string
	if err := getJSON(n.url("/v1/status/leader"), &addr); err != nil {
		return nil
	}
	for _, o := range nodes {
		if addr == net.JoinHostPort(o.clusterIP, "8300") {
			return o
		}
	}
	return nil
}
