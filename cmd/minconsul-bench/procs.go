package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"github.com/minconsul/minconsul/testutil"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// ProcNode is one minconsul server running as a process of the built
// binary on its own loopback IP (see testutil.NodeProc).
type ProcNode struct {
	testutil.NodeProc
	config string // -config-file, "" for none
	expect int    // -bootstrap-expect
}

// ProcCluster is N minconsul servers started with -bootstrap-expect N
// (-bootstrap when N is 1) that -retry-join the first one.
type ProcCluster struct {
	Nodes []*ProcNode
}

// StartProcCluster starts one server per IP, data dirs under dir, and
// waits until they agree on a leader and each of them accepts a write.
func StartProcCluster(ctx context.Context, bin, dir string, ips []string, configFile string) (*ProcCluster, error) {
	c := &ProcCluster{}
	for i, ip := range ips {
		name := fmt.Sprintf("n%d", i+1)
		c.Nodes = append(c.Nodes, &ProcNode{NodeProc: testutil.NodeProc{Name: name, IP: ip, DataDir: filepath.Join(dir, name),
			Bin: bin, MaxLog: 256 << 10}, config: configFile, expect: len(ips)})
	}
	for i, n := range c.Nodes {
		var join []string
		if i > 0 {
			join = []string{c.Nodes[0].SerfAddr()}
		}
		if err := n.start(ctx, join); err != nil {
			c.Stop()
			return nil, err
		}
	}
	if err := c.WaitReady(ctx, 60*time.Second); err != nil {
		c.Stop()
		return nil, err
	}
	return c, nil
}

func (n *ProcNode) start(ctx context.Context, join []string) error {
	extra := []string{"-bootstrap-expect", strconv.Itoa(n.expect)}
	if n.expect == 1 {
		extra = []string{"-bootstrap"}
	}
	if n.config != "" {
		extra = append(extra, "-config-file", n.config)
	}
	return n.Start(ctx, join, extra...)
}

// Restart starts a killed node again with its data dir and its old ports,
// joining the other nodes' gossip addresses.
func (c *ProcCluster) Restart(ctx context.Context, n *ProcNode) error {
	if n.Alive() {
		return fmt.Errorf("%s: restart while running", n.Name)
	}
	var join []string
	for _, o := range c.Nodes {
		if o != n {
			join = append(join, o.SerfAddr())
		}
	}
	return n.start(ctx, join)
}

// Stop kills every node.
func (c *ProcCluster) Stop() {
	for _, n := range c.Nodes {
		n.Kill()
	}
}

// URLs are the nodes' HTTP base URLs.
func (c *ProcCluster) URLs() []string {
	var out []string
	for _, n := range c.Nodes {
		out = append(out, "http://"+n.HTTPAddr())
	}
	return out
}

// Leader asks each running node for the leader's Raft address and returns
// the node they all name.
func (c *ProcCluster) Leader(ctx context.Context) (*ProcNode, error) {
	client := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	var leader string
	for _, n := range c.Nodes {
		if !n.Alive() {
			continue
		}
		l, err := getString(ctx, client, "http://"+n.HTTPAddr()+"/v1/status/leader")
		if err != nil {
			return nil, fmt.Errorf("%s: leader: %w", n.Name, err)
		}
		l = strings.Trim(l, `"`)
		if l == "" || (leader != "" && l != leader) {
			return nil, fmt.Errorf("no agreed leader (%s says %q, before %q)", n.Name, l, leader)
		}
		leader = l
	}
	host, _, err := net.SplitHostPort(leader)
	if err != nil {
		return nil, fmt.Errorf("leader %q: %w", leader, err)
	}
	for _, n := range c.Nodes {
		if n.IP == host {
			return n, nil
		}
	}
	return nil, fmt.Errorf("leader %q is none of the nodes", leader)
}

// WaitReady polls until the running nodes agree on a leader, a write
// through each of them succeeds and each has applied the last one (a
// restarted node has caught up).
func (c *ProcCluster) WaitReady(ctx context.Context, timeout time.Duration) error {
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	deadline := time.Now().Add(timeout)
	var last error
	for {
		if last = c.ready(ctx, client); last == nil {
			return nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			var logs strings.Builder
			for _, n := range c.Nodes {
				fmt.Fprintf(&logs, "==== %s (%s) ====\n%s\n", n.Name, n.IP, n.Logs())
			}
			return fmt.Errorf("cluster not ready within %s: %v\n%s", timeout, last, logs.String())
		}
		time.Sleep(50 * time.Millisecond) // poll interval, bounded by the deadline
	}
}

func (c *ProcCluster) ready(ctx context.Context, client *http.Client) error {
	if _, err := c.Leader(ctx); err != nil {
		return err
	}
	var index uint64
	for _, n := range c.Nodes {
		if !n.Alive() {
			continue
		}
		idx, err := putIndex(ctx, client, "http://"+n.HTTPAddr()+"/v1/kv/bench/ready", n.Name)
		if err != nil {
			return fmt.Errorf("%s: put: %w", n.Name, err)
		}
		index = max(index, idx)
	}
	// A follower learns the commit index with the leader's next append
	// or heartbeat: give it a moment rather than writing again.
	deadline := time.Now().Add(5 * time.Second)
	for _, n := range c.Nodes {
		for n.Alive() {
			r, err := Capture(ctx, client, "http://"+n.HTTPAddr()+"/v1/kv/bench/ready?stale")
			if err != nil {
				return fmt.Errorf("%s: stale get: %w", n.Name, err)
			}
			got, _ := strconv.ParseUint(r.Header.Get("X-Consul-Index"), 10, 64)
			if r.Status == http.StatusOK && got >= index {
				break
			}
			if time.Now().After(deadline) || ctx.Err() != nil {
				return fmt.Errorf("%s: stale read at index %d (status %d), want >= %d", n.Name, got, r.Status, index)
			}
			time.Sleep(10 * time.Millisecond) // poll interval, bounded by the deadline
		}
	}
	return nil
}

// putIndex PUTs value and returns the answer's X-Consul-Index.
func putIndex(ctx context.Context, client *http.Client, url, value string) (uint64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, url, strings.NewReader(value))
	if err != nil {
		return 0, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || !bytes.Equal(bytes.TrimSpace(body), []byte("true")) {
		return 0, fmt.Errorf("PUT %s: status %d %q", url, resp.StatusCode, body)
	}
	return strconv.ParseUint(resp.Header.Get("X-Consul-Index"), 10, 64)
}

// binary returns o.Binary or builds one into a temporary directory that
// cleanup removes.
func (o Options) binary(ctx context.Context) (bin string, cleanup func(), err error) {
	if o.Binary != "" {
		return o.Binary, func() {}, nil
	}
	dir, err := os.MkdirTemp(o.TempDir, "minconsul-bench-bin")
	if err != nil {
		return "", nil, err
	}
	if bin, err = testutil.BuildBinary(ctx, dir); err != nil {
		os.RemoveAll(dir)
		return "", nil, err
	}
	return bin, func() { os.RemoveAll(dir) }, nil
}

var errNoEtcd = errors.New("etcd not found on PATH (Debian: apt-get install etcd-server)")
