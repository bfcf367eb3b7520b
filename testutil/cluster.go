package testutil

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"
)

// ClusterOptions shapes a cluster of real minconsul processes.
type ClusterOptions struct {
	Servers int
	Clients int // client agents (-server=false)
	// ReconnectTimeout is how long a failed member is kept before it is
	// reaped (and, for a server, removed from Raft). 0: 8 minutes, so
	// nothing is reaped during a test unless it asks.
	ReconnectTimeout time.Duration
	// Shuffle starts the servers in a random order with random delays of
	// up to MaxStartDelay between them (the first one started is the one
	// the others -retry-join).
	Shuffle       bool
	MaxStartDelay time.Duration
	// Args are extra agent flags for every node.
	Args []string
}

// Cluster is a set of minconsul agents, each a process of Binary(t) on its
// own 127.0.x.y address. Every port is 0 on the first start and read back
// from the `agent started:` log line; restarts reuse the same ports so Raft
// and gossip addresses stay stable.
type Cluster struct {
	t       testing.TB
	bin     string
	config  string
	Servers []*Node
	Clients []*Node
}

// Node is one agent process (which may be stopped, killed or restarted).
type Node struct {
	NodeProc
	c      *Cluster
	Server bool
	join   []string

	mu      sync.Mutex
	stopped bool // SIGSTOPped
}

// clusterSeq gives every cluster in the test process its own 127.0.N.0/24,
// so a restarted node finds its old ports free of other clusters' sockets.
var clusterSeq atomic.Int32

// NewCluster starts the servers (in order, or shuffled with delays), then
// the client agents, and waits until every node is in the catalog with a
// passing serfHealth as seen from every server. Processes are killed when
// the test ends; their logs are printed if it failed.
func NewCluster(t testing.TB, opts ClusterOptions) *Cluster {
	t.Helper()
	c := &Cluster{t: t, bin: Binary(t)}
	dir := t.TempDir()
	rt := opts.ReconnectTimeout
	if rt == 0 {
		rt = 8 * time.Minute
	}
	conf := map[string]any{
		"gossip_lan": map[string]any{
			"probe_interval": "200ms", "probe_timeout": "100ms", "gossip_interval": "50ms", "suspicion_mult": 2,
		},
		"reconnect_timeout": rt.String(),
	}
	b, _ := json.Marshal(conf)
	c.config = filepath.Join(dir, "gossip.json")
	if err := os.WriteFile(c.config, b, 0o644); err != nil {
		t.Fatal(err)
	}
	// 127.0.0.0/24 is left to the in-process tests; pid spreads concurrent
	// test binaries (one per package) over distinct ranges.
	netN := 1 + (100+os.Getpid()%100+int(clusterSeq.Add(1)))%250
	for i := 0; i < opts.Servers+opts.Clients; i++ {
		n := &Node{c: c, NodeProc: NodeProc{IP: fmt.Sprintf("127.0.%d.%d", netN, 10+i), Bin: c.bin}, Server: i < opts.Servers}
		if n.Server {
			n.Name = fmt.Sprintf("s%d", i+1)
			c.Servers = append(c.Servers, n)
		} else {
			n.Name = fmt.Sprintf("c%d", i-opts.Servers+1)
			c.Clients = append(c.Clients, n)
		}
		n.DataDir = filepath.Join(dir, n.Name)
	}
	t.Cleanup(func() {
		for _, n := range c.Nodes() {
			n.NodeProc.Kill()
		}
		if t.Failed() {
			for _, n := range c.Nodes() {
				t.Logf("==== log of %s (%s) ====\n%s", n.Name, n.IP, n.Logs())
			}
		}
	})

	order := append([]*Node(nil), c.Servers...)
	if opts.Shuffle {
		rand.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
	}
	var first string
	for i, n := range order {
		if i > 0 && opts.Shuffle && opts.MaxStartDelay > 0 {
			// A deliberate stagger (the scenario under test), not a wait.
			<-time.After(rand.N(opts.MaxStartDelay))
		}
		args := []string{"-bootstrap-expect", strconv.Itoa(opts.Servers)}
		if first != "" {
			n.join = []string{first}
		}
		n.start(append(args, opts.Args...))
		if first == "" {
			first = n.SerfAddr()
		}
	}
	for _, n := range c.Clients {
		n.join = []string{first}
		n.start(append([]string{"-server=false"}, opts.Args...))
	}
	c.WaitHealthy(60 * time.Second)
	return c
}

// Nodes lists servers then clients.
func (c *Cluster) Nodes() []*Node {
	return append(append([]*Node(nil), c.Servers...), c.Clients...)
}

// Running lists the nodes whose processes run and are not stopped.
func (c *Cluster) Running(nodes []*Node) []*Node {
	var out []*Node
	for _, n := range nodes {
		n.mu.Lock()
		stopped := n.stopped
		n.mu.Unlock()
		if n.Alive() && !stopped {
			out = append(out, n)
		}
	}
	return out
}

// start runs the agent; on a restart every port is the one it had.
func (n *Node) start(extra []string) {
	n.c.t.Helper()
	extra = append([]string{"-config-file", n.c.config, "-log-level", "debug"}, extra...)
	if err := n.Start(context.Background(), n.join, extra...); err != nil {
		n.c.t.Fatal(err)
	}
	n.mu.Lock()
	n.stopped = false
	n.mu.Unlock()
}

// Client is an official API client talking to this node, with a timeout
// so a request to a stopped or dead node never hangs the test.
func (n *Node) Client() *api.Client {
	return n.ClientTimeout(15 * time.Second)
}

// ClientTimeout is Client with a chosen per-request timeout.
func (n *Node) ClientTimeout(d time.Duration) *api.Client {
	hc := &http.Client{Timeout: d, Transport: &http.Transport{DisableKeepAlives: true}}
	c, err := api.NewClient(&api.Config{Address: n.HTTPAddr(), HttpClient: hc})
	if err != nil {
		n.c.t.Fatal(err)
	}
	return c
}

func (n *Node) signal(sig syscall.Signal) {
	n.c.t.Helper()
	p := n.Proc()
	if p == nil || !p.Alive() {
		n.c.t.Fatalf("%s: not running (signal %v)", n.Name, sig)
	}
	if err := p.Signal(sig); err != nil {
		n.c.t.Fatalf("%s: signal %v: %v", n.Name, sig, err)
	}
	n.mu.Lock()
	n.stopped = sig == syscall.SIGSTOP
	n.mu.Unlock()
	n.Note("%v", sig)
}

// Kill SIGKILLs the process and waits until it is gone.
func (n *Node) Kill() {
	n.c.t.Helper()
	n.signal(syscall.SIGKILL)
	n.waitExit(10 * time.Second)
}

func (n *Node) waitExit(d time.Duration) {
	n.c.t.Helper()
	p := n.Proc()
	if err := p.WaitExit(d); err != nil && p.Alive() {
		n.c.t.Fatalf("%s: %v after being asked to exit", n.Name, err)
	}
}

// Stop freezes the process (SIGSTOP): its sockets stay open, it answers nothing.
func (n *Node) Stop() { n.c.t.Helper(); n.signal(syscall.SIGSTOP) }

// Cont resumes a stopped process.
func (n *Node) Cont() { n.c.t.Helper(); n.signal(syscall.SIGCONT) }

// Restart starts the node again with its data dir and its old ports. A
// server joins every other server's gossip address (any of them may be
// the first back); a client joins the servers.
func (n *Node) Restart() {
	n.c.t.Helper()
	if n.Alive() {
		n.c.t.Fatalf("%s: restart while running", n.Name)
	}
	var join []string
	for _, s := range n.c.Servers {
		if s != n {
			join = append(join, s.SerfAddr())
		}
	}
	n.join = join
	var args []string
	if n.Server {
		args = []string{"-bootstrap-expect", strconv.Itoa(len(n.c.Servers))}
	} else {
		args = []string{"-server=false"}
	}
	n.start(args)
}

// Leave runs `minconsul leave -http-addr` against the node and waits for
// the process to exit.
func (n *Node) Leave() {
	n.c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, n.c.bin, "leave", "-http-addr", "http://"+n.HTTPAddr()).CombinedOutput()
	if err != nil {
		n.c.t.Fatalf("%s: leave: %v\n%s", n.Name, err, out)
	}
	n.waitExit(30 * time.Second)
}

// ServerByAddr finds the server whose Raft address is addr.
func (c *Cluster) ServerByAddr(addr string) *Node {
	for _, s := range c.Servers {
		if s.ServerAddr() == addr {
			return s
		}
	}
	return nil
}

// Leader waits until every running server names the same leader, one of
// them, and returns it.
func (c *Cluster) Leader(timeout time.Duration) *Node {
	c.t.Helper()
	var leader *Node
	Retry(c.t, timeout, func() error {
		var err error
		leader, err = c.agreedLeader()
		return err
	})
	return leader
}

func (c *Cluster) agreedLeader() (*Node, error) {
	var addr string
	running := c.Running(c.Servers)
	if len(running) == 0 {
		return nil, fmt.Errorf("no server running")
	}
	for _, s := range running {
		l, err := s.ClientTimeout(2 * time.Second).Status().Leader()
		if err != nil {
			return nil, fmt.Errorf("%s: %v", s.Name, err)
		}
		if l == "" {
			return nil, fmt.Errorf("%s knows no leader", s.Name)
		}
		if addr != "" && l != addr {
			return nil, fmt.Errorf("leaders disagree: %s vs %s (%s)", addr, l, s.Name)
		}
		addr = l
	}
	n := c.ServerByAddr(addr)
	if n == nil || !n.Alive() {
		return nil, fmt.Errorf("leader %s is not a running server", addr)
	}
	return n, nil
}

// Followers are the running servers other than leader.
func (c *Cluster) Followers(leader *Node) []*Node {
	var out []*Node
	for _, s := range c.Running(c.Servers) {
		if s != leader {
			out = append(out, s)
		}
	}
	return out
}

// WaitHealthy waits until a leader is agreed and every running server's
// catalog (read locally, ?stale) holds every running node with a passing
// serfHealth.
func (c *Cluster) WaitHealthy(timeout time.Duration) {
	c.t.Helper()
	deadline := time.Now().Add(timeout)
	c.Leader(timeout)
	Retry(c.t, time.Until(deadline), func() error {
		for _, s := range c.Running(c.Servers) {
			checks, _, err := s.ClientTimeout(2*time.Second).Health().State(api.HealthPassing, &api.QueryOptions{AllowStale: true})
			if err != nil {
				return fmt.Errorf("%s: %v", s.Name, err)
			}
			passing := map[string]bool{}
			for _, ch := range checks {
				if ch.CheckID == "serfHealth" {
					passing[ch.Node] = true
				}
			}
			for _, n := range c.Running(c.Nodes()) {
				if !passing[n.Name] {
					return fmt.Errorf("%s: %s has no passing serfHealth yet", s.Name, n.Name)
				}
			}
		}
		return nil
	})
}
