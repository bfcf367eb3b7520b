package testutil

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"
)

// NodeProc is one agent process of the built binary on its own loopback
// IP. Every port is 0 on its first start and read back from its log; a
// restart reuses them, so its Raft and gossip addresses stay the same. Its
// log is kept across starts (the last MaxLog bytes when MaxLog > 0).
type NodeProc struct {
	Name, IP, DataDir string
	Bin               string
	MaxLog            int

	mu     sync.Mutex
	log    strings.Builder
	proc   *Proc
	addrs  Addrs
	starts int
}

// Start runs the agent with its name, data dir and IP, the ports of its
// first start, a -retry-join per join address and extra flags.
func (n *NodeProc) Start(ctx context.Context, join []string, extra ...string) error {
	n.mu.Lock()
	ports := n.addrs.PortFlags()
	n.starts++
	n.noteLocked("start #%d", n.starts)
	n.mu.Unlock()
	args := append([]string{"agent", "-node", n.Name, "-data-dir", n.DataDir,
		"-bind", n.IP, "-advertise", n.IP, "-client", n.IP}, ports...)
	for _, j := range join {
		args = append(args, "-retry-join", j)
	}
	p, err := StartProc(ctx, n.Bin, append(args, extra...), func(line string) {
		n.mu.Lock()
		n.writeLocked(line + "\n")
		n.mu.Unlock()
	}, 20*time.Second)
	if err != nil {
		return fmt.Errorf("%s: %w\n%s", n.Name, err, n.Logs())
	}
	n.mu.Lock()
	n.proc, n.addrs = p, p.Addrs
	n.mu.Unlock()
	return nil
}

func (n *NodeProc) writeLocked(s string) {
	n.log.WriteString(s)
	if n.MaxLog > 0 && n.log.Len() > 2*n.MaxLog {
		tail := n.log.String()[n.log.Len()-n.MaxLog:]
		n.log.Reset()
		n.log.WriteString(tail)
	}
}

func (n *NodeProc) noteLocked(format string, args ...any) {
	n.writeLocked(fmt.Sprintf("---- "+format+" at %s ----\n", append(args, time.Now().Format(time.RFC3339Nano))...))
}

// Note marks an event (a signal sent) in the node's log.
func (n *NodeProc) Note(format string, args ...any) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.noteLocked(format, args...)
}

// Logs is what the node logged over all its starts.
func (n *NodeProc) Logs() string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.log.String()
}

// Proc is the current (or last) process; nil before the first start.
func (n *NodeProc) Proc() *Proc {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.proc
}

// HTTPAddr, DNSAddr, SerfAddr are host:port; ServerAddr is the Raft/RPC address.
func (n *NodeProc) HTTPAddr() string { n.mu.Lock(); defer n.mu.Unlock(); return n.addrs.HTTP }
func (n *NodeProc) DNSAddr() string  { n.mu.Lock(); defer n.mu.Unlock(); return n.addrs.DNS }
func (n *NodeProc) SerfAddr() string { n.mu.Lock(); defer n.mu.Unlock(); return n.addrs.Serf }
func (n *NodeProc) ServerAddr() string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return net.JoinHostPort(n.IP, strconv.Itoa(n.addrs.ServerPort))
}

// Alive reports a process that has not exited (a SIGSTOPped one counts).
func (n *NodeProc) Alive() bool {
	p := n.Proc()
	return p != nil && p.Alive()
}

// Kill SIGKILLs the process (if any) and waits until it is gone.
func (n *NodeProc) Kill() {
	if p := n.Proc(); p != nil {
		if p.Alive() {
			n.Note("SIGKILL")
		}
		p.Kill()
	}
}
