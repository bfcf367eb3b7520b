package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// EtcdCluster is an etcd 3.4 cluster of real processes (Debian's
// etcd-server), one member per loopback IP. It is spoken to through its
// gRPC gateway (HTTP/JSON), so no etcd client library is needed.
//
// Ports: etcd cannot take port 0. --initial-cluster must name every
// member's peer URL before any starts, and a client URL listened on :0
// could not be advertised (etcd does not log the port it got at the levels
// kept here). So each port is picked by binding :0 on the member's IP,
// reading it and closing it just before etcd starts; the IPs are used by
// nothing else, which leaves the usual window of such a pick all but
// empty.
type EtcdCluster struct {
	URLs    []string // client URLs
	members []*etcdMember
}

type etcdMember struct {
	name   string
	cmd    *exec.Cmd
	exited chan struct{}
	log    limitedWriter
}

// StartEtcdCluster starts one member per IP with data dirs under dir and
// waits until a put through every member succeeds. It returns errNoEtcd
// when no etcd binary is installed.
func StartEtcdCluster(ctx context.Context, dir string, ips []string) (*EtcdCluster, error) {
	bin, err := exec.LookPath("etcd")
	if err != nil {
		return nil, errNoEtcd
	}
	var initial, clients, peers []string
	for i, ip := range ips {
		client, err := pickPort(ip)
		if err != nil {
			return nil, err
		}
		peer, err := pickPort(ip)
		if err != nil {
			return nil, err
		}
		clients, peers = append(clients, "http://"+client), append(peers, "http://"+peer)
		initial = append(initial, fmt.Sprintf("e%d=%s", i+1, peers[i]))
	}
	c := &EtcdCluster{}
	for i := range ips {
		m := &etcdMember{name: fmt.Sprintf("e%d", i+1), exited: make(chan struct{}), log: limitedWriter{n: 256 << 10}}
		client, peer := clients[i], peers[i]
		m.cmd = exec.Command(bin,
			"--name", m.name, "--data-dir", filepath.Join(dir, m.name),
			"--listen-client-urls", client, "--advertise-client-urls", client,
			"--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
			"--initial-cluster", strings.Join(initial, ","), "--initial-cluster-state", "new",
			"--initial-cluster-token", "minconsul-bench", "--logger", "zap", "--log-level", "warn")
		m.cmd.Stdout, m.cmd.Stderr = &m.log, &m.log
		if err := m.cmd.Start(); err != nil {
			c.Stop()
			return nil, fmt.Errorf("start etcd %s: %w", m.name, err)
		}
		go func() { _ = m.cmd.Wait(); close(m.exited) }()
		c.members = append(c.members, m)
		c.URLs = append(c.URLs, client)
	}
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	deadline := time.Now().Add(30 * time.Second)
	for _, u := range c.URLs {
		for {
			err := EtcdPutOp(ctx, client, u, "bench/ready", "x")()
			if err == nil {
				break
			}
			for _, m := range c.members {
				select {
				case <-m.exited:
					c.Stop()
					return nil, fmt.Errorf("etcd %s exited: %s", m.name, m.logs())
				default:
				}
			}
			if time.Now().After(deadline) || ctx.Err() != nil {
				logs := c.logs()
				c.Stop()
				return nil, fmt.Errorf("etcd not ready within 30s: %v\n%s", err, logs)
			}
			time.Sleep(50 * time.Millisecond) // poll interval, bounded by the deadline
		}
	}
	return c, nil
}

func (m *etcdMember) logs() string { return m.log.String() }

// pickPort binds ip:0, reads the port the kernel chose and frees it for
// etcd (see EtcdCluster).
func pickPort(ip string) (string, error) {
	ln, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

func (c *EtcdCluster) logs() string {
	var b strings.Builder
	for _, m := range c.members {
		fmt.Fprintf(&b, "==== etcd %s ====\n%s\n", m.name, m.logs())
	}
	return b.String()
}

// Stop kills every member and waits for it.
func (c *EtcdCluster) Stop() {
	for _, m := range c.members {
		if m.cmd.Process != nil {
			_ = m.cmd.Process.Kill()
			<-m.exited
		}
	}
}

func etcdBody(fields map[string]string) []byte {
	enc := map[string]string{}
	for k, v := range fields {
		enc[k] = base64.StdEncoding.EncodeToString([]byte(v))
	}
	b, _ := json.Marshal(enc)
	return b
}

// etcdPost is one keep-alive POST of body to url that expects status 200
// and a JSON answer without an "error" field at its top.
func etcdPost(ctx context.Context, client *http.Client, url string, body []byte) func() error {
	return func() error {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
		if err != nil {
			return err
		}
		req.Header.Set("Content-Type", "application/json")
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return err
		}
		if resp.StatusCode != http.StatusOK || !bytes.HasPrefix(b, []byte(`{"header"`)) {
			return fmt.Errorf("POST %s: status %d %.200s", url, resp.StatusCode, b)
		}
		return nil
	}
}

// EtcdPutOp puts value at key through the gateway of the member at base.
func EtcdPutOp(ctx context.Context, client *http.Client, base, key, value string) func() error {
	return etcdPost(ctx, client, base+"/v3/kv/put", etcdBody(map[string]string{"key": key, "value": value}))
}

// EtcdRangeOp reads key (linearizable: the gateway's default) through the
// member at base.
func EtcdRangeOp(ctx context.Context, client *http.Client, base, key string) func() error {
	return etcdPost(ctx, client, base+"/v3/kv/range", etcdBody(map[string]string{"key": key}))
}
