package e2e

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/minconsul/minconsul/agent"
	"github.com/minconsul/minconsul/testutil"
	"github.com/minconsul/minconsul/testutil/testagent"
)

// longMode reports -long. The flag is defined once per package (today in
// cluster_test.go); looking it up keeps this file independent of where.
func longMode() bool {
	f := flag.Lookup("long")
	if f == nil {
		return false
	}
	v, _ := strconv.ParseBool(f.Value.String())
	return v
}

var linKeys = []string{"lin/a", "lin/b", "lin/c", "lin/d"}

const linRequestTimeout = 5 * time.Second

// linCluster is what the load and the fault schedule need from a cluster,
// in-process or made of processes.
type linCluster interface {
	size() int
	name(i int) string
	slot(i int) *nodeSlot
	leader() int // -1 when unknown
	kill(i int)  // without leaving
	restart(i int)
}

// nodeSlot is where a node's clients find its current HTTP address; it is
// empty while the node is down.
type nodeSlot struct {
	mu   sync.Mutex
	addr string
	up   chan struct{} // closed when the node comes (back) up
}

func newSlot(addr string) *nodeSlot {
	s := &nodeSlot{addr: addr, up: make(chan struct{})}
	close(s.up)
	return s
}

func (s *nodeSlot) get() (string, <-chan struct{}) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addr, s.up
}

func (s *nodeSlot) down() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.addr, s.up = "", make(chan struct{})
}

func (s *nodeSlot) set(addr string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.addr = addr
	close(s.up)
}

// ---- in-process cluster ----

type inprocNode struct {
	name, ip, dataDir string
	serfPort, srvPort int
	a                 *testagent.Agent
	slotv             *nodeSlot
	down              bool
}

type inprocCluster struct {
	t     *testing.T
	nodes []*inprocNode
}

func startInprocCluster(t *testing.T, n int) *inprocCluster {
	c := &inprocCluster{t: t}
	for i := 0; i < n; i++ {
		c.nodes = append(c.nodes, &inprocNode{name: fmt.Sprintf("lin%d", i+1), ip: fmt.Sprintf("127.0.0.%d", 171+i), dataDir: t.TempDir()})
	}
	for i, nd := range c.nodes {
		var join []string
		if i > 0 {
			join = []string{c.nodes[0].a.SerfAddr()}
		}
		c.start(nd, join)
		_, port, _ := net.SplitHostPort(nd.a.SerfAddr())
		nd.serfPort, _ = strconv.Atoi(port)
		_, port, _ = net.SplitHostPort(nd.a.Store().LocalAddr())
		nd.srvPort, _ = strconv.Atoi(port)
		nd.slotv = newSlot(nd.a.HTTPAddr())
	}
	for _, nd := range c.nodes {
		nd.a.WaitReady(t)
	}
	return c
}

func (c *inprocCluster) start(nd *inprocNode, join []string) {
	nd.a = testagent.StartNoWait(c.t, testagent.Options{NodeName: nd.name, DataDir: nd.dataDir, Mutate: func(cfg *agent.Config) {
		cfg.Bootstrap, cfg.BootstrapExpect = false, 3
		cfg.BindAddr, cfg.AdvertiseAddr = nd.ip, nd.ip
		cfg.HTTPAddr, cfg.DNSAddr = nd.ip+":0", nd.ip+":0"
		// The same ports as before, so the Raft address the peers know
		// and the gossip address stay valid across restarts.
		cfg.ServerPort, cfg.SerfLANPort = nd.srvPort, nd.serfPort
		cfg.GossipFast = true
		cfg.RetryJoin = join
	}})
}

func (c *inprocCluster) size() int            { return len(c.nodes) }
func (c *inprocCluster) name(i int) string    { return c.nodes[i].name }
func (c *inprocCluster) slot(i int) *nodeSlot { return c.nodes[i].slotv }

func (c *inprocCluster) leader() int {
	for i, nd := range c.nodes {
		if !nd.down && nd.a.IsLeader() {
			return i
		}
	}
	return -1
}

func (c *inprocCluster) kill(i int) {
	nd := c.nodes[i]
	nd.slotv.down()
	nd.down = true
	_ = nd.a.Shutdown() // no leave: the others see it fail
}

func (c *inprocCluster) restart(i int) {
	nd := c.nodes[i]
	var join []string
	for j, o := range c.nodes {
		if j != i && !o.down {
			join = append(join, o.a.SerfAddr())
		}
	}
	c.start(nd, join)
	nd.down = false
	nd.slotv.set(nd.a.HTTPAddr())
}

// ---- cluster of real processes ----

var startedPortsRE = regexp.MustCompile(`server_port=(\d+) serf_lan=(\S+)`)

type procNode struct {
	name, ip, dataDir string
	serfPort, srvPort string
	p                 *proc
	slotv             *nodeSlot
	down, paused      bool
}

type procCluster struct {
	t     *testing.T
	bin   string
	conf  string
	nodes []*procNode
}

func startProcCluster(t *testing.T, n int) *procCluster {
	c := &procCluster{t: t, bin: testutil.Binary(t)}
	c.conf = filepath.Join(t.TempDir(), "gossip.json")
	conf := `{"gossip_lan": {"probe_interval": "200ms", "probe_timeout": "100ms", "gossip_interval": "50ms", "suspicion_mult": 2}}`
	if err := os.WriteFile(c.conf, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < n; i++ {
		// 127.0.253.0/24: outside the in-process tests' 127.0.0.0/24 and
		// testutil.Cluster's 127.1-250.x.x.
		c.nodes = append(c.nodes, &procNode{name: fmt.Sprintf("p%d", i+1), ip: fmt.Sprintf("127.0.253.%d", 10+i),
			dataDir: t.TempDir(), serfPort: "0", srvPort: "0"})
	}
	for i, nd := range c.nodes {
		var join []string
		if i > 0 {
			join = []string{net.JoinHostPort(c.nodes[0].ip, c.nodes[0].serfPort)}
		}
		c.start(nd, join)
		nd.slotv = newSlot(nd.p.HTTP)
	}
	for _, nd := range c.nodes {
		nd.p.waitLeader(nd.name)
	}
	return c
}

func (c *procCluster) start(nd *procNode, join []string) {
	args := []string{"agent", "-node", nd.name, "-data-dir", nd.dataDir, "-bootstrap-expect", "3",
		"-bind", nd.ip, "-advertise", nd.ip, "-client", nd.ip,
		"-http-port", "0", "-dns-port", "0", "-server-port", nd.srvPort, "-serf-lan-port", nd.serfPort,
		"-config-file", c.conf, "-log-level", "info"}
	for _, j := range join {
		args = append(args, "-retry-join", j)
	}
	nd.p = startProc(c.t, c.bin, args...)
	m := startedPortsRE.FindStringSubmatch(nd.p.logs())
	if m == nil {
		c.t.Fatalf("%s: no server_port/serf_lan in the log:\n%s", nd.name, nd.p.logs())
	}
	_, serfPort, _ := net.SplitHostPort(m[2])
	nd.srvPort, nd.serfPort = m[1], serfPort
}

func (c *procCluster) size() int            { return len(c.nodes) }
func (c *procCluster) name(i int) string    { return c.nodes[i].name }
func (c *procCluster) slot(i int) *nodeSlot { return c.nodes[i].slotv }

func (c *procCluster) leader() int {
	hc := &http.Client{Timeout: time.Second}
	for _, nd := range c.nodes {
		if nd.down || nd.paused {
			continue
		}
		resp, err := hc.Get("http://" + nd.p.HTTP + "/v1/status/leader")
		if err != nil {
			continue
		}
		var addr string
		err = json.NewDecoder(resp.Body).Decode(&addr)
		resp.Body.Close()
		if err != nil || addr == "" {
			continue
		}
		host, _, _ := net.SplitHostPort(addr)
		for j, o := range c.nodes {
			if o.ip == host && !o.down && !o.paused {
				return j
			}
		}
	}
	return -1
}

func (c *procCluster) kill(i int) {
	nd := c.nodes[i]
	nd.slotv.down()
	nd.down = true
	nd.p.Kill() // SIGKILL
}

func (c *procCluster) restart(i int) {
	nd := c.nodes[i]
	var join []string
	for j, o := range c.nodes {
		if j != i && !o.down {
			join = append(join, net.JoinHostPort(o.ip, o.serfPort))
		}
	}
	c.start(nd, join)
	nd.down = false
	nd.slotv.set(nd.p.HTTP)
}

func (c *procCluster) pause(i int) {
	c.nodes[i].paused = true
	if err := c.nodes[i].p.Signal(syscall.SIGSTOP); err != nil {
		c.t.Fatal(err)
	}
}

// seenFailed reports whether a running node's gossip marks node i failed.
func (c *procCluster) seenFailed(i int) error {
	hc := &http.Client{Timeout: time.Second}
	for j, nd := range c.nodes {
		if j == i || nd.down || nd.paused {
			continue
		}
		resp, err := hc.Get("http://" + nd.p.HTTP + "/v1/agent/members")
		if err != nil {
			continue
		}
		var members []struct {
			Name   string
			Status int
		}
		err = json.NewDecoder(resp.Body).Decode(&members)
		resp.Body.Close()
		for _, m := range members {
			if err == nil && m.Name == c.nodes[i].name && m.Status == 4 {
				return nil
			}
		}
	}
	return fmt.Errorf("no node sees %s failed yet", c.nodes[i].name)
}

func (c *procCluster) resume(i int) {
	if err := c.nodes[i].p.Signal(syscall.SIGCONT); err != nil {
		c.t.Fatal(err)
	}
	c.nodes[i].paused = false
}

// ---- load ----

type linLoad struct {
	h     *linHistory
	acked atomic.Int64 // acknowledged writes and successful reads
	stop  chan struct{}
	wg    sync.WaitGroup
	errs  sync.Map // error text -> count, for the log
	// emptyOK counts writes answered 200 with an empty body: neither true
	// nor false, which Consul's API client takes as success.
	emptyOK atomic.Int64
	clients int
}

var errNumRE = regexp.MustCompile(`[0-9]+`)

// noteErr counts an error by its kind; numbers in detail (addresses,
// ports, indexes) are blanked so that alike errors count together.
func (l *linLoad) noteErr(kind, detail string) {
	s := kind + ": " + errNumRE.ReplaceAllString(detail, "N")
	if len(s) > 160 {
		s = s[:160]
	}
	v, _ := l.errs.LoadOrStore(s, new(atomic.Int64))
	v.(*atomic.Int64).Add(1)
}

func (l *linLoad) errSummary() string {
	var parts []string
	l.errs.Range(func(k, v any) bool {
		parts = append(parts, fmt.Sprintf("%dx %s", v.(*atomic.Int64).Load(), k))
		return true
	})
	return strings.Join(parts, "; ")
}

// startLoad runs n clients, client i bound to node i mod size, until
// l.stop is closed. Each has its own connections and a per-request timeout.
func startLoad(c linCluster, h *linHistory, n int) *linLoad {
	l := &linLoad{h: h, stop: make(chan struct{}), clients: n}
	for i := 0; i < n; i++ {
		l.wg.Add(1)
		go l.client(c, i, i%c.size())
	}
	return l
}

func (l *linLoad) halt() {
	select {
	case <-l.stop:
	default:
		close(l.stop)
	}
	l.wg.Wait()
}

type readResult struct {
	value string
	index uint64
}

func (l *linLoad) client(c linCluster, id, node int) {
	defer l.wg.Done()
	hc := &http.Client{Timeout: linRequestTimeout, Transport: &http.Transport{MaxIdleConnsPerHost: 2}}
	defer hc.CloseIdleConnections()
	rng := rand.New(rand.NewPCG(uint64(id), uint64(time.Now().UnixNano())))
	lastRead := map[string]readResult{}
	seq := 0
	for {
		select {
		case <-l.stop:
			return
		default:
		}
		addr, up := c.slot(node).get()
		if addr == "" {
			select {
			case <-up:
			case <-l.stop:
				return
			}
			continue
		}
		key := linKeys[rng.IntN(len(linKeys))]
		in := linInput{Key: key, Node: c.name(node)}
		r := rng.IntN(100)
		last, haveRead := lastRead[key]
		switch {
		case r < 30:
			in.Op = opPut
		case r < 50 && haveRead:
			in.Op, in.Expect, in.ExpIdx = opCAS, last.value, last.index
		case r < 75:
			in.Op = opGet
		default:
			in.Op = opGetConsis
		}
		if in.Op.write() {
			seq++
			in.Value = fmt.Sprintf("c%d-%d", id, seq)
		}
		call := l.h.now()
		out, keep := l.do(hc, addr, in)
		ret := l.h.now()
		if !keep {
			continue
		}
		if !out.Unknown {
			l.acked.Add(1)
		}
		if !in.Op.write() {
			lastRead[key] = readResult{out.Value, out.Index}
		} else {
			delete(lastRead, key) // the next CAS starts from a fresh read
		}
		l.h.add(id, in, call, ret, out)
	}
}

// do runs one operation. keep is false when the operation certainly had no
// effect and taught nothing: a read that failed, or a request that never
// left (the connection was refused).
func (l *linLoad) do(hc *http.Client, addr string, in linInput) (out linOutput, keep bool) {
	u := "http://" + addr + "/v1/kv/" + in.Key
	var req *http.Request
	switch in.Op {
	case opPut:
		req, _ = http.NewRequest(http.MethodPut, u, strings.NewReader(in.Value))
	case opCAS:
		req, _ = http.NewRequest(http.MethodPut, u+"?cas="+strconv.FormatUint(in.ExpIdx, 10), strings.NewReader(in.Value))
	case opGet:
		req, _ = http.NewRequest(http.MethodGet, u, nil)
	case opGetConsis:
		req, _ = http.NewRequest(http.MethodGet, u+"?consistent", nil)
	}
	resp, err := hc.Do(req)
	if err != nil {
		var op *net.OpError
		if errors.As(err, &op) && op.Op == "dial" {
			return out, false
		}
		l.noteErr(in.Op.String()+" on "+in.Node, err.Error())
		out.Unknown = true
		return out, in.Op.write()
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || (resp.StatusCode != http.StatusOK && !(resp.StatusCode == http.StatusNotFound && !in.Op.write())) {
		l.noteErr(fmt.Sprintf("%s on %s: %d", in.Op, in.Node, resp.StatusCode), fmt.Sprintf("%s %v", bytes.TrimSpace(body), err))
		out.Unknown = true
		return out, in.Op.write()
	}
	if in.Op.write() {
		switch strings.TrimSpace(string(body)) {
		case "true":
			out.OK = true
		case "false":
			if in.Op == opPut {
				l.noteErr("put on "+in.Node, "answered false")
				out.Unknown = true
			}
		default:
			if len(body) == 0 {
				l.emptyOK.Add(1)
			}
			l.noteErr(fmt.Sprintf("%s on %s: status %d", in.Op, in.Node, resp.StatusCode), fmt.Sprintf("body %q", body))
			out.Unknown = true
		}
		return out, true
	}
	if resp.StatusCode == http.StatusNotFound {
		return out, true
	}
	var ents []struct {
		Value       []byte
		ModifyIndex uint64
	}
	if err := json.Unmarshal(body, &ents); err != nil || len(ents) != 1 {
		l.noteErr(fmt.Sprintf("%s on %s: status %d", in.Op, in.Node, resp.StatusCode), fmt.Sprintf("bad body %q: %v", body, err))
		return out, false
	}
	out.Found, out.Value, out.Index = true, string(ents[0].Value), ents[0].ModifyIndex
	return out, true
}

// ---- the test ----

type linPlan struct {
	load    time.Duration // minimum load time
	clients int
	pause   bool // SIGSTOP/SIGCONT faults (processes only)
	check   time.Duration
}

func TestLinearizability_InProcess(t *testing.T) {
	plan := linPlan{load: 16 * time.Second, clients: 8, check: 20 * time.Second}
	if longMode() {
		plan.load, plan.check = 60*time.Second, 2*time.Minute
	}
	c := startInprocCluster(t, 3)
	runLinearizability(t, c, plan)
}

func TestLinearizability_Processes(t *testing.T) {
	if !longMode() {
		t.Skip("long fault run: -long")
	}
	c := startProcCluster(t, 3)
	runLinearizability(t, c, linPlan{load: 60 * time.Second, clients: 9, pause: true, check: 2 * time.Minute})
}

func runLinearizability(t *testing.T, c linCluster, plan linPlan) {
	begin := time.Now()
	h := newLinHistory()
	l := startLoad(c, h, plan.clients)
	t.Cleanup(l.halt) // runs before the agents' cleanups: they were registered first
	loadStart := time.Now()

	progress := func(what string, n int64) {
		t.Helper()
		base := l.acked.Load()
		testutil.Retry(t, 30*time.Second, func() error {
			if got := l.acked.Load() - base; got < n {
				return fmt.Errorf("%s: only %d operations succeeded (errors: %s)", what, got, l.errSummary())
			}
			return nil
		})
	}
	leader := func() int {
		t.Helper()
		var li int
		testutil.Retry(t, 20*time.Second, func() error {
			if li = c.leader(); li < 0 {
				return errors.New("no leader")
			}
			return nil
		})
		return li
	}

	var faults []string
	fault := func(format string, args ...any) {
		msg := fmt.Sprintf("%6.2fs ", time.Since(loadStart).Seconds()) + fmt.Sprintf(format, args...)
		faults = append(faults, msg)
		t.Log("fault: " + msg)
	}
	progress("warm-up", 100)
	for round := 0; ; round++ {
		li := leader()
		fault("kill leader %s", c.name(li))
		c.kill(li)
		leader()
		progress("after leader kill", 150)
		fault("restart %s", c.name(li))
		c.restart(li)
		progress("after restart", 150)

		// A follower other than the node just restarted.
		fi, cur := -1, leader()
		for j := 0; j < c.size() && fi < 0; j++ {
			if j != cur && j != li {
				fi = j
			}
		}
		fault("kill follower %s", c.name(fi))
		c.kill(fi)
		progress("after follower kill", 150)
		fault("restart %s", c.name(fi))
		c.restart(fi)
		progress("after restart", 150)

		if pc, ok := c.(*procCluster); ok && plan.pause {
			pi := (round + 1) % c.size()
			fault("SIGSTOP %s", c.name(pi))
			pc.pause(pi)
			// Past the failure detection (and, for a leader, the election).
			testutil.Retry(t, 20*time.Second, func() error { return pc.seenFailed(pi) })
			progress("while paused", 150)
			fault("SIGCONT %s", c.name(pi))
			pc.resume(pi)
			progress("after SIGCONT", 150)
		}
		if time.Since(loadStart) > plan.load*2/3 {
			break
		}
	}
	if rest := plan.load - time.Since(loadStart); rest > 0 {
		select { // let the healed cluster run to the end of the planned load
		case <-time.After(rest):
		case <-t.Context().Done():
		}
	}
	l.halt()
	loadTime := time.Since(loadStart)
	t.Logf("load: %d clients for %v; request errors: %s", plan.clients, loadTime.Round(time.Millisecond), l.errSummary())

	// Final values, read ?consistent through every node after healing.
	leader()
	final := map[string]string{}
	hc := &http.Client{Timeout: linRequestTimeout}
	for i := 0; i < c.size(); i++ {
		for _, key := range linKeys {
			testutil.Retry(t, 20*time.Second, func() error {
				addr, _ := c.slot(i).get()
				in := linInput{Op: opGetConsis, Key: key, Node: c.name(i)}
				call := h.now()
				out, keep := l.do(hc, addr, in)
				if !keep || out.Unknown {
					return fmt.Errorf("final read of %s on %s failed: %s", key, c.name(i), l.errSummary())
				}
				h.add(plan.clients+i, in, call, h.now(), out)
				if v, ok := final[key]; ok && v != out.Value {
					t.Errorf("final read of %s on %s: %q, another node said %q", key, c.name(i), out.Value, v)
				}
				final[key] = out.Value
				return nil
			})
		}
	}

	if n := l.emptyOK.Load(); n > 0 {
		t.Errorf("%d writes were answered 200 with an empty body (not true/false) while a node shut down", n)
	}
	ops := h.operations()
	for _, p := range checkIndexes(ops) {
		t.Errorf("index: %s", p)
	}
	for _, p := range lostWrites(ops, final) {
		t.Errorf("lost write: %s", p)
	}
	checkLinearizable(t, ops, plan.check)
	t.Logf("faults injected (%d): %s", len(faults), strings.Join(faults, "; "))
	t.Logf("final values: %v; total test time %v", final, time.Since(begin).Round(time.Millisecond))
}
