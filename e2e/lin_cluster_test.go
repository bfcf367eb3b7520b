package e2e

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/minconsul/minconsul/agent"
	"github.com/minconsul/minconsul/testutil"
	"github.com/minconsul/minconsul/testutil/testagent"
)

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
