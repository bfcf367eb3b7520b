package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// RunChildIfRequested turns this process into BlockingWake's watcher child
// when the environment asks for it, and exits. Call it first thing in
// main and in TestMain of any test binary that runs BlockingWake.
func RunChildIfRequested() {
	spec, ok := os.LookupEnv(childEnv)
	if !ok {
		return
	}
	if err := runWatchers(spec, os.Stdin, os.Stdout); err != nil {
		fmt.Fprintf(os.Stdout, "error %v\n", err)
		os.Exit(1)
	}
	os.Exit(0)
}

// runWatchers dials n connections (64 at a time, so the server's accept
// backlog never overflows) and writes the blocking GET on each. For each of
// the rounds it waits until this process is idle, says "parked", then
// reports the CPU time it used from then on and every answer's completion
// time (UnixNano) once all answered. Between rounds each connection asks
// again (keep-alive) with its answer's X-Consul-Index, the steady state of
// a watcher, once every answer of the round is in. It returns when stdin
// closes.
func runWatchers(spec string, in io.Reader, out io.Writer) error {
	f := strings.Fields(spec)
	if len(f) != 5 {
		return fmt.Errorf("bad spec %q", spec)
	}
	addr, key := f[0], f[1]
	index, err := strconv.ParseUint(f[2], 10, 64)
	if err != nil {
		return err
	}
	n, err := strconv.Atoi(f[3])
	if err != nil {
		return err
	}
	rounds, err := strconv.Atoi(f[4])
	if err != nil || rounds < 1 {
		return fmt.Errorf("bad rounds %q", f[4])
	}
	if _, err := RaiseNoFile(uint64(n + 256)); err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _, _ = io.Copy(io.Discard, in); cancel() }()

	w := &watchers{addr: addr, key: key, rounds: rounds, conns: make([]net.Conn, n)}
	for r := 0; r < rounds; r++ {
		w.done = append(w.done, make([]int64, n))
		w.allDone = append(w.allDone, make(chan struct{}))
		w.pending = append(w.pending, new(atomic.Int64))
		w.pending[r].Store(int64(n))
	}
	defer w.close()
	var (
		next    atomic.Int64
		dialers sync.WaitGroup
	)
	d := net.Dialer{Timeout: 10 * time.Second}
	for g := 0; g < 64; g++ {
		dialers.Add(1)
		go func() {
			defer dialers.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n || w.firstErr() != nil {
					return
				}
				c, err := d.DialContext(ctx, "tcp", addr)
				if err != nil {
					w.fail(fmt.Errorf("dial watcher %d: %w", i, err))
					return
				}
				w.conns[i] = c
				if _, err := c.Write(w.request(index)); err != nil {
					w.fail(fmt.Errorf("write watcher %d: %w", i, err))
					return
				}
				w.wg.Add(1)
				go w.read(i, c)
			}
		}()
	}
	dialers.Wait()
	for r := 0; r < rounds; r++ {
		if err := w.firstErr(); err != nil {
			return err
		}
		if err := waitIdle(ctx, 30*time.Second); err != nil {
			return err
		}
		if err := w.firstErr(); err != nil {
			return err
		}
		if p := w.pending[r].Load(); p != int64(n) {
			return fmt.Errorf("round %d: %d blocking queries answered before the PUT", r, int64(n)-p)
		}
		if _, err := fmt.Fprintln(out, "parked"); err != nil {
			return err
		}
		cpu0 := cpuTime()
		select {
		case <-w.allDone[r]:
		case <-ctx.Done():
			return errors.New("stdin closed before every query answered")
		}
		if err := w.firstErr(); err != nil {
			return err
		}
		cpu := cpuTime() - cpu0
		bw := bufio.NewWriterSize(out, 1<<20)
		bw.WriteString("done ")
		bw.WriteString(strconv.FormatInt(int64(cpu), 10))
		for _, t := range w.done[r] {
			bw.WriteByte(' ')
			bw.WriteString(strconv.FormatInt(t, 10))
		}
		bw.WriteByte('\n')
		if err := bw.Flush(); err != nil {
			return err
		}
	}
	<-ctx.Done()
	return nil
}

type watchers struct {
	addr, key string
	rounds    int
	conns     []net.Conn
	done      [][]int64 // per round: UnixNano when each answer was complete
	pending   []*atomic.Int64
	allDone   []chan struct{}
	mu        sync.Mutex
	err       error
	wg        sync.WaitGroup
}

func (w *watchers) request(index uint64) []byte {
	return []byte(fmt.Sprintf("GET /v1/kv/%s?index=%d&wait=5m HTTP/1.1\r\nHost: %s\r\nUser-Agent: minconsul-bench\r\n\r\n", w.key, index, w.addr))
}

func (w *watchers) fail(err error) {
	w.mu.Lock()
	if w.err == nil {
		w.err = err
	}
	w.mu.Unlock()
}

func (w *watchers) firstErr() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}

func (w *watchers) close() {
	for _, c := range w.conns {
		if c != nil {
			c.Close()
		}
	}
	w.wg.Wait()
}

// read waits for one complete HTTP response on c per round, asking again
// with the answer's index between rounds. Its buffer is allocated and
// touched before the round starts: a first write to fresh memory is a page
// fault, which costs this VM over 10 µs, and the client's faults would be
// counted in the server's wake-up time.
func (w *watchers) read(i int, c net.Conn) {
	defer w.wg.Done()
	buf := make([]byte, 4096)
	for k := 0; k < len(buf); k += 512 {
		buf[k] = 1
	}
	buf = buf[:0]
	for r := 0; r < w.rounds; r++ {
		for {
			used, index, perr := completeResponse(buf)
			if perr == nil && used == 0 {
				if len(buf) == cap(buf) {
					buf = append(buf, 0)[:len(buf)] // grow (a larger answer than expected)
				}
				k, err := c.Read(buf[len(buf):cap(buf)])
				buf = buf[:len(buf)+k]
				if err != nil {
					if errors.Is(err, net.ErrClosed) {
						return // torn down
					}
					perr = err
				} else {
					continue
				}
			}
			w.done[r][i] = time.Now().UnixNano()
			if perr != nil {
				w.fail(fmt.Errorf("watcher %d round %d: %w", i, r, perr))
			}
			if w.pending[r].Add(-1) == 0 {
				close(w.allDone[r])
			}
			if perr != nil {
				return
			}
			buf = buf[:copy(buf, buf[used:])]
			if r+1 < w.rounds {
				// Ask again only once the round is over, so that every
				// round measures the wake-up alone and not also the
				// parking of the next round's queries.
				<-w.allDone[r]
				if _, err := c.Write(w.request(index)); err != nil {
					w.fail(fmt.Errorf("write watcher %d: %w", i, err))
					return
				}
			}
			break
		}
	}
}

// completeResponse reports how many bytes of buf make up a whole 200
// response (0 while incomplete) and its X-Consul-Index.
func completeResponse(buf []byte) (int, uint64, error) {
	end := bytes.Index(buf, []byte("\r\n\r\n"))
	if end < 0 {
		return 0, 0, nil
	}
	line, rest, _ := bytes.Cut(buf[:end], []byte("\r\n"))
	if !bytes.HasPrefix(line, []byte("HTTP/1.1 200")) {
		return 0, 0, fmt.Errorf("unexpected status %q", line)
	}
	body := buf[end+4:]
	var (
		index uint64
		cl    = -1
	)
	for _, h := range bytes.Split(rest, []byte("\r\n")) {
		k, v, _ := bytes.Cut(h, []byte(":"))
		switch http.CanonicalHeaderKey(string(k)) {
		case "Content-Length":
			n, err := strconv.Atoi(string(bytes.TrimSpace(v)))
			if err != nil {
				return 0, 0, fmt.Errorf("bad Content-Length %q", v)
			}
			cl = n
		case "X-Consul-Index":
			index, _ = strconv.ParseUint(string(bytes.TrimSpace(v)), 10, 64)
		}
	}
	if cl >= 0 {
		if len(body) < cl {
			return 0, 0, nil
		}
		return end + 4 + cl, index, nil
	}
	// Chunked: the last chunk ends the body.
	if i := bytes.Index(body, []byte("0\r\n\r\n")); i >= 0 {
		return end + 4 + i + 5, index, nil
	}
	return 0, 0, nil
}
