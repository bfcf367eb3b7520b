package e2e

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/minconsul/minconsul/testutil"
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
	session := "" // created on first use; lock operations wait for one
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
		if session == "" && r >= 40 && r < 54 {
			session = l.createSession(hc, addr, id)
		}
		switch {
		case r < 22:
			in.Op = opPut
		case r < 32 && haveRead:
			in.Op, in.Expect, in.ExpIdx = opCAS, last.value, last.index
		case r < 40 && haveRead:
			in.Op, in.Expect, in.ExpIdx = opTxnCAS, last.value, last.index
		case r < 48 && session != "":
			in.Op, in.Session = opAcquire, session
		case r < 54 && session != "":
			in.Op, in.Session = opRelease, session
		case r < 77:
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
	case opAcquire:
		req, _ = http.NewRequest(http.MethodPut, u+"?acquire="+in.Session, strings.NewReader(in.Value))
	case opRelease:
		req, _ = http.NewRequest(http.MethodPut, u+"?release="+in.Session, strings.NewReader(in.Value))
	case opTxnCAS:
		body := fmt.Sprintf(`[{"KV":{"Verb":"cas","Key":%q,"Value":%q,"Index":%d}}]`, in.Key,
			base64.StdEncoding.EncodeToString([]byte(in.Value)), in.ExpIdx)
		req, _ = http.NewRequest(http.MethodPut, "http://"+addr+"/v1/txn", strings.NewReader(body))
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
	if in.Op == opTxnCAS && err == nil {
		// 200 with Results: applied; 409 naming op 0: the cas failed.
		switch {
		case resp.StatusCode == http.StatusOK && bytes.Contains(body, []byte(`"Results":[`)):
			out.OK = true
			return out, true
		case resp.StatusCode == http.StatusConflict && bytes.Contains(body, []byte(`"OpIndex":0`)):
			return out, true
		}
	}
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
		Session     string
	}
	if err := json.Unmarshal(body, &ents); err != nil || len(ents) != 1 {
		l.noteErr(fmt.Sprintf("%s on %s: status %d", in.Op, in.Node, resp.StatusCode), fmt.Sprintf("bad body %q: %v", body, err))
		return out, false
	}
	out.Found, out.Value, out.Index, out.Session = true, string(ents[0].Value), ents[0].ModifyIndex, ents[0].Session
	return out, true
}

// createSession makes the client's session (no checks, no TTL: only its
// node's deregistration ends it, which no fault here causes); "" when it
// failed, to be tried again later.
func (l *linLoad) createSession(hc *http.Client, addr string, id int) string {
	body := fmt.Sprintf(`{"Name":"lin-c%d","NodeChecks":[],"LockDelay":"0s"}`, id)
	req, _ := http.NewRequest(http.MethodPut, "http://"+addr+"/v1/session/create", strings.NewReader(body))
	resp, err := hc.Do(req)
	if err != nil {
		l.noteErr("session create", err.Error())
		return ""
	}
	defer resp.Body.Close()
	var out struct{ ID string }
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || json.Unmarshal(b, &out) != nil {
		l.noteErr(fmt.Sprintf("session create: %d", resp.StatusCode), string(b))
		return ""
	}
	return out.ID
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
