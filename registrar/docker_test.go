package registrar_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/client"
	"github.com/docker/go-connections/nat"
	"github.com/hashicorp/go-hclog"
	"github.com/miekg/dns"

	"github.com/minconsul/minconsul/registrar"
	"github.com/minconsul/minconsul/structs"
	"github.com/minconsul/minconsul/testutil"
	"github.com/minconsul/minconsul/testutil/testagent"
)

// Every Docker object these tests create carries testLabel=<run id>-<n>
// and a name starting with mcreg-<run id>, and is removed in t.Cleanup.
// Other packages' tests use the same engine at the same time: each test's
// registrar only looks at containers with its own label, and assertions
// only concern the test's own services. Leftovers of a killed run:
//
//	docker ps -aq --filter label=io.minconsul.registrar.test | xargs -r docker rm -fv
//	docker network ls -q --filter name=mcreg- | xargs -r docker network rm
//	docker images -q minconsul-registrar-test | xargs -r docker rmi -f
const testLabel = "io.minconsul.registrar.test"

var (
	runID    = newRunID()
	testSeq  atomic.Int64
	imgOnce  sync.Once
	imgTag   string
	imgID    string
	imgErr   error
	imgBuilt atomic.Bool
)

func newRunID() string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func TestMain(m *testing.M) {
	code := m.Run()
	if imgBuilt.Load() {
		if out, err := exec.Command("docker", "rmi", "-f", imgTag).CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "remove test image %s: %v %s\n", imgTag, err, out)
		}
	}
	os.Exit(code)
}

// testImage is the hello-world web server FROM scratch, built once per
// test binary under a tag unique to the run. It has no HEALTHCHECK; tests
// that want one set it on the container (exec form: no shell in scratch).
func testImage(t testing.TB) (tag, id string) {
	t.Helper()
	testutil.NeedDocker(t)
	imgOnce.Do(func() {
		bin := testutil.StaticBinary(t, "./examples/tutorial/hello-world")
		dir, err := os.MkdirTemp("", "mcreg-img")
		if err != nil {
			imgErr = err
			return
		}
		defer os.RemoveAll(dir)
		b, err := os.ReadFile(bin)
		if err == nil {
			err = os.WriteFile(filepath.Join(dir, "hello-world"), b, 0o755)
		}
		if err == nil {
			err = os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte("FROM scratch\nCOPY hello-world /hello-world\nEXPOSE 8080\nENTRYPOINT [\"/hello-world\"]\n"), 0o644)
		}
		if err != nil {
			imgErr = err
			return
		}
		imgTag = "minconsul-registrar-test:" + runID
		out, err := exec.Command("docker", "build", "-q", "--label", testLabel+"="+runID, "-t", imgTag, dir).CombinedOutput()
		if err != nil {
			imgErr = fmt.Errorf("docker build: %v\n%s", err, out)
			return
		}
		imgBuilt.Store(true)
		out, err = exec.Command("docker", "image", "inspect", "-f", "{{.Id}}", imgTag).Output()
		imgID, imgErr = strings.TrimSpace(string(out)), err
	})
	if imgErr != nil {
		t.Fatal(imgErr)
	}
	return imgTag, imgID
}

// dockerClient is a test's own client of the real engine.
func dockerClient(t testing.TB) *client.Client {
	t.Helper()
	cli, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cli.Close() })
	return cli
}

// scope is one test's share of the engine: a label value, a name prefix
// and the registrar hostname (which marks the services it owns).
type scope struct {
	t     testing.TB
	cli   *client.Client
	id    string // label value
	n     atomic.Int64
	image string
}

func newScope(t testing.TB) *scope {
	t.Helper()
	tag, _ := testImage(t)
	return &scope{t: t, cli: dockerClient(t), id: fmt.Sprintf("%s-%d", runID, testSeq.Add(1)), image: tag}
}

func (s *scope) labelFilter() string { return testLabel + "=" + s.id }

// ctr describes a container to run.
type ctr struct {
	name     string // suffix; the full name is mcreg-<scope>-<n>-<name>
	fullName string // instead of name: exactly this (it must start with mcreg-<scope>)
	image    string // default: the test image
	env      []string
	labels   map[string]string
	publish  []string // "8080/tcp" (random host port), "127.0.0.1::8080", "[::1]::8080", "9000:8080"
	ports    string   // the server's -port list (default 8080)
	args     []string // extra server flags
	network  string
	health   bool // HEALTHCHECK CMD ["/hello-world","-probe"] every 200ms
	restart  container.RestartPolicy
	noStart  bool
}

// create makes the container (removed at cleanup) and starts it unless
// noStart; it returns the ID and full name.
func (s *scope) create(c ctr) (id, name string) {
	s.t.Helper()
	name = fmt.Sprintf("mcreg-%s-%d-%s", s.id, s.n.Add(1), c.name)
	if c.fullName != "" {
		name = c.fullName
	}
	img := c.image
	if img == "" {
		img = s.image
	}
	labels := map[string]string{testLabel: s.id}
	for k, v := range c.labels {
		labels[k] = v
	}
	ports := c.ports
	if ports == "" {
		ports = "8080"
	}
	cfg := &container.Config{Image: img, Env: c.env, Labels: labels, ExposedPorts: nat.PortSet{},
		Cmd: append([]string{"-port", ports}, c.args...)}
	host := &container.HostConfig{PortBindings: nat.PortMap{}, RestartPolicy: c.restart}
	if c.network != "" {
		host.NetworkMode = container.NetworkMode(c.network)
	}
	exposed, bindings, err := nat.ParsePortSpecs(c.publish)
	if err != nil {
		s.t.Fatal(err)
	}
	for p := range exposed {
		cfg.ExposedPorts[p] = struct{}{}
	}
	host.PortBindings = bindings
	if c.health {
		cfg.Healthcheck = &container.HealthConfig{Test: []string{"CMD", "/hello-world", "-probe", "-port", strings.Split(ports, ",")[0]},
			Interval: 200 * time.Millisecond, Timeout: 2 * time.Second, Retries: 1}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	resp, err := s.cli.ContainerCreate(ctx, cfg, host, &network.NetworkingConfig{}, nil, name)
	if err != nil {
		s.t.Fatalf("create %s: %v", name, err)
	}
	s.t.Cleanup(func() { s.remove(resp.ID) })
	if !c.noStart {
		if err := s.cli.ContainerStart(ctx, resp.ID, container.StartOptions{}); err != nil {
			s.t.Fatalf("start %s: %v", name, err)
		}
	}
	return resp.ID, name
}

func (s *scope) remove(id string) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	err := s.cli.ContainerRemove(ctx, id, container.RemoveOptions{Force: true, RemoveVolumes: true})
	if err != nil && !strings.Contains(err.Error(), "No such container") && !strings.Contains(err.Error(), "already in progress") {
		s.t.Errorf("remove container %s: %v", id[:12], err)
	}
}

// do runs a container operation with a bounded context.
func (s *scope) do(what string, f func(ctx context.Context) error) {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := f(ctx); err != nil {
		s.t.Fatalf("%s: %v", what, err)
	}
}

// hostPort is the host port Docker bound for the container's private port.
func (s *scope) hostPort(id, private string) string {
	s.t.Helper()
	var c container.InspectResponse
	s.do("inspect", func(ctx context.Context) (err error) { c, err = s.cli.ContainerInspect(ctx, id); return })
	for _, b := range c.NetworkSettings.Ports[nat.Port(private)] {
		if b.HostPort != "" {
			return b.HostPort
		}
	}
	s.t.Fatalf("%s has no host port for %s", id[:12], private)
	return ""
}

// network creates a user-defined bridge network removed at cleanup.
func (s *scope) network(suffix string) string {
	s.t.Helper()
	name := fmt.Sprintf("mcreg-%s-%s", s.id, suffix)
	s.do("network create", func(ctx context.Context) error {
		_, err := s.cli.NetworkCreate(ctx, name, network.CreateOptions{Labels: map[string]string{testLabel: s.id}})
		return err
	})
	s.t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := s.cli.NetworkRemove(ctx, name); err != nil {
			s.t.Errorf("remove network %s: %v", name, err)
		}
	})
	return name
}

// running is the set of this scope's running, unpaused containers' names.
func (s *scope) running() map[string]bool {
	s.t.Helper()
	var list []container.Summary
	s.do("list", func(ctx context.Context) (err error) {
		list, err = s.cli.ContainerList(ctx, container.ListOptions{Filters: filters.NewArgs(filters.Arg("label", s.labelFilter()))})
		return
	})
	out := map[string]bool{}
	for _, c := range list {
		if c.State == container.StateRunning {
			out[strings.TrimPrefix(c.Names[0], "/")] = true
		}
	}
	return out
}

// localAgent is an in-process minconsul agent and the registrar wired to
// it the way cmd/minconsul wires them.
type harness struct {
	t      testing.TB
	s      *scope
	agent  *testagent.Agent
	reg    *registrar.Registrar
	cfg    registrar.Config
	logs   *logBuffer
	logger hclog.Logger
}

// logBuffer keeps log lines or a process's output for assertions.
type logBuffer struct {
	mu sync.Mutex
	sb strings.Builder
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.sb.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.sb.String()
}

// newHarness starts an agent (in memory, or on dataDir) and a registrar
// scoped to the scope's label; mutate adjusts the registrar's config.
func newHarness(t testing.TB, s *scope, dataDir string, mutate func(*registrar.Config)) *harness {
	t.Helper()
	h := &harness{t: t, s: s, logs: &logBuffer{}}
	h.agent = testagent.Start(t, testagent.Options{NodeName: "node-" + s.id, DataDir: dataDir})
	h.cfg = registrar.Config{
		Hostname: "node-" + s.id, AdvertiseAddr: "127.0.0.1", Labels: []string{s.labelFilter()},
		MinBackoff: 20 * time.Millisecond, MaxBackoff: 500 * time.Millisecond,
	}
	if mutate != nil {
		mutate(&h.cfg)
	}
	h.logger = hclog.New(&hclog.LoggerOptions{Name: "registrar", Level: hclog.Debug,
		Output: io.MultiWriter(testutil.LogWriter(t), h.logs)})
	h.startRegistrar()
	return h
}

func (h *harness) startRegistrar() {
	h.t.Helper()
	reg, err := registrar.New(h.cfg, registrar.Local(h.agent.Agent), h.logger)
	if err != nil {
		h.t.Fatal(err)
	}
	if err := reg.Start(context.Background()); err != nil {
		h.t.Fatal(err)
	}
	h.reg = reg
	h.t.Cleanup(func() { reg.Shutdown() })
}

// restartAgent stops the registrar and the agent, then starts both again on
// the same data directory (new ports).
func (h *harness) restartAgent(dataDir string, between func()) {
	h.t.Helper()
	h.reg.Shutdown()
	if err := h.agent.Shutdown(); err != nil {
		h.t.Fatalf("agent shutdown: %v", err)
	}
	if between != nil {
		between()
	}
	h.agent = testagent.Start(h.t, testagent.Options{NodeName: "node-" + h.s.id, DataDir: dataDir})
	h.startRegistrar()
}

// ours is this harness's registrations: service ID -> service.
func (h *harness) ours() map[string]*structs.AgentService {
	out := map[string]*structs.AgentService{}
	for id, s := range h.agent.Services() {
		if s.Meta[registrar.MetaRegistrar] == h.cfg.Hostname {
			out[id] = s
		}
	}
	return out
}

// service waits until the agent holds exactly one service with this ID
// and returns it.
func (h *harness) service(id string) *structs.AgentService {
	h.t.Helper()
	var s *structs.AgentService
	testutil.Retry(h.t, 20*time.Second, func() error {
		s = h.ours()[id]
		if s == nil {
			return fmt.Errorf("service %q not registered; have %v", id, keys(h.ours()))
		}
		return nil
	})
	return s
}

// gone waits until the service ID is no longer registered.
func (h *harness) gone(id string) {
	h.t.Helper()
	testutil.Retry(h.t, 20*time.Second, func() error {
		if h.ours()[id] != nil {
			return fmt.Errorf("service %q still registered", id)
		}
		return nil
	})
}

// converged waits until the registrations are exactly one per running
// container of the scope (each publishing port 8080 only).
func (h *harness) converged(timeout time.Duration) {
	h.t.Helper()
	testutil.Retry(h.t, timeout, func() error {
		want := map[string]bool{}
		for n := range h.s.running() {
			want[h.cfg.Hostname+":"+n+":8080"] = true
		}
		got := h.ours()
		var missing, extra []string
		for id := range want {
			if got[id] == nil {
				missing = append(missing, id)
			}
		}
		for id := range got {
			if !want[id] {
				extra = append(extra, id)
			}
		}
		if len(missing)+len(extra) > 0 {
			return fmt.Errorf("%d running, %d registered; missing %v extra %v", len(want), len(got), missing, extra)
		}
		return nil
	})
}

// handled waits until the registrar logged that it handled the container
// with this name and the number of services it gave it.
func (h *harness) handled(name string, services int) {
	h.t.Helper()
	want := fmt.Sprintf("name=%s services=%d", name, services)
	testutil.Retry(h.t, 20*time.Second, func() error {
		if !strings.Contains(h.logs.String(), want) {
			return fmt.Errorf("registrar has not logged %q", want)
		}
		return nil
	})
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// waitSRV waits until name has an SRV answer with this port (or, with
// port 0, no answer at all).
func waitSRV(t testing.TB, addr, name string, port uint16) *dns.Msg {
	t.Helper()
	var r *dns.Msg
	testutil.Retry(t, 20*time.Second, func() error {
		r = testutil.DNSQuery(t, addr, name, dns.TypeSRV)
		var ports []uint16
		for _, rr := range r.Answer {
			if srv, ok := rr.(*dns.SRV); ok {
				ports = append(ports, srv.Port)
			}
		}
		if port == 0 {
			if len(ports) != 0 {
				return fmt.Errorf("%s SRV still answers %v", name, ports)
			}
			return nil
		}
		for _, p := range ports {
			if p == port {
				return nil
			}
		}
		return fmt.Errorf("%s SRV answers %v (rcode %d), want port %d", name, ports, r.Rcode, port)
	})
	return r
}

// sockProxy stands between the registrar and the real Docker socket, so a
// test can cut the event stream or make the engine vanish and return.
type sockProxy struct {
	t      testing.TB
	path   string
	target string
	mu     sync.Mutex
	ln     net.Listener
	conns  map[net.Conn]bool
	wg     sync.WaitGroup
}

func newSockProxy(t testing.TB, started bool) *sockProxy {
	t.Helper()
	dir, err := os.MkdirTemp("", "mcreg") // short: unix socket paths are limited
	if err != nil {
		t.Fatal(err)
	}
	p := &sockProxy{t: t, path: filepath.Join(dir, "docker.sock"), target: "/var/run/docker.sock", conns: map[net.Conn]bool{}}
	if h := os.Getenv("DOCKER_HOST"); strings.HasPrefix(h, "unix://") {
		p.target = strings.TrimPrefix(h, "unix://")
	}
	t.Cleanup(func() {
		p.stop()
		p.wg.Wait()
		os.RemoveAll(dir)
	})
	if started {
		p.start()
	}
	return p
}

func (p *sockProxy) host() string { return "unix://" + p.path }

// start listens (again); the engine "comes back".
func (p *sockProxy) start() {
	p.t.Helper()
	ln, err := net.Listen("unix", p.path)
	if err != nil {
		p.t.Fatal(err)
	}
	p.mu.Lock()
	p.ln = ln
	p.mu.Unlock()
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			p.wg.Add(1)
			go p.serve(c)
		}
	}()
}

func (p *sockProxy) serve(c net.Conn) {
	defer p.wg.Done()
	up, err := net.Dial("unix", p.target)
	if err != nil {
		c.Close()
		return
	}
	p.mu.Lock()
	p.conns[c], p.conns[up] = true, true
	p.mu.Unlock()
	done := make(chan struct{}, 2)
	go func() { io.Copy(up, c); done <- struct{}{} }()
	go func() { io.Copy(c, up); done <- struct{}{} }()
	<-done
	c.Close()
	up.Close()
	<-done
	p.mu.Lock()
	delete(p.conns, c)
	delete(p.conns, up)
	p.mu.Unlock()
}

// cut closes every open connection (the event stream breaks) but keeps
// accepting new ones.
func (p *sockProxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for c := range p.conns {
		c.Close()
	}
}

// stop closes the listener (the socket file goes) and every connection:
// the engine is gone until start.
func (p *sockProxy) stop() {
	p.mu.Lock()
	ln := p.ln
	p.ln = nil
	p.mu.Unlock()
	if ln != nil {
		ln.Close()
	}
	p.cut()
}
