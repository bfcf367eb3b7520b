// Package rpc is minconsul's server-to-server transport on -server-port:
// one TCP port carries both the Raft transport and an internal RPC, told
// apart by the first byte of each connection (as Consul multiplexes its
// server port). An RPC is one named call with a msgpack-encoded typed
// argument and answer; errors travel as values (kind and message) and come
// back as the sentinels they were sent as. What is called and where it is
// sent is package backend's business; this package only carries it.
package rpc

import (
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
)

// First byte of every connection on the server port.
const (
	ProtoRaft byte = 0x01
	ProtoRPC  byte = 0x02
)

// Mux splits one listener into a Raft listener and an RPC listener.
type Mux struct {
	ln     net.Listener
	logger hclog.Logger
	raft   *subListener
	rpc    *subListener

	wg       sync.WaitGroup
	closeMu  sync.Once
	closedCh chan struct{}
}

// NewMux wraps ln; call Serve to start accepting.
func NewMux(ln net.Listener, logger hclog.Logger) *Mux {
	m := &Mux{ln: ln, logger: logger, closedCh: make(chan struct{})}
	m.raft = newSubListener(ln.Addr(), m.closedCh)
	m.rpc = newSubListener(ln.Addr(), m.closedCh)
	return m
}

// RaftListener yields connections that started with ProtoRaft.
func (m *Mux) RaftListener() net.Listener { return m.raft }

// RPCListener yields connections that started with ProtoRPC.
func (m *Mux) RPCListener() net.Listener { return m.rpc }

// Addr is the shared listener's address.
func (m *Mux) Addr() net.Addr { return m.ln.Addr() }

// Serve accepts until Close.
func (m *Mux) Serve() {
	m.wg.Add(1)
	defer m.wg.Done()
	for {
		conn, err := m.ln.Accept()
		if err != nil {
			select {
			case <-m.closedCh:
				return
			default:
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			m.logger.Error("server port accept failed", "error", err)
			return
		}
		go m.route(conn)
	}
}

func (m *Mux) route(conn net.Conn) {
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	var b [1]byte
	if _, err := io.ReadFull(conn, b[:]); err != nil {
		conn.Close()
		return
	}
	_ = conn.SetReadDeadline(time.Time{})
	var dst *subListener
	switch b[0] {
	case ProtoRaft:
		dst = m.raft
	case ProtoRPC:
		dst = m.rpc
	default:
		m.logger.Debug("unknown protocol byte on server port", "byte", b[0], "remote", conn.RemoteAddr())
		conn.Close()
		return
	}
	select {
	case dst.ch <- conn:
	case <-m.closedCh:
		conn.Close()
	case <-dst.done:
		conn.Close()
	}
}

// Close stops accepting and closes both sub-listeners. Idempotent.
func (m *Mux) Close() error {
	var err error
	m.closeMu.Do(func() {
		close(m.closedCh)
		err = m.ln.Close()
		m.wg.Wait()
	})
	return err
}

// Dial connects to a server port and announces the protocol.
func Dial(addr string, proto byte, timeout time.Duration) (net.Conn, error) {
	conn, err := net.DialTimeout("tcp", addr, timeout)
	if err != nil {
		return nil, err
	}
	if _, err := conn.Write([]byte{proto}); err != nil {
		conn.Close()
		return nil, fmt.Errorf("announce protocol to %s: %w", addr, err)
	}
	return conn, nil
}

type subListener struct {
	addr     net.Addr
	ch       chan net.Conn
	closed   <-chan struct{} // the mux closed
	done     chan struct{}   // this side closed
	doneOnce sync.Once
}

func newSubListener(addr net.Addr, closed <-chan struct{}) *subListener {
	return &subListener{addr: addr, ch: make(chan net.Conn), closed: closed, done: make(chan struct{})}
}

func (l *subListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.ch:
		return c, nil
	case <-l.closed:
		return nil, net.ErrClosed
	case <-l.done:
		return nil, net.ErrClosed
	}
}

// Close stops this side's Accept; the Mux owns the real listener, and
// connections routed here afterwards are dropped.
func (l *subListener) Close() error {
	l.doneOnce.Do(func() { close(l.done) })
	return nil
}
func (l *subListener) Addr() net.Addr { return l.addr }
