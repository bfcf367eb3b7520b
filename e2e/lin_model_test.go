package e2e

import (
	"fmt"
	"math"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
)

// The linearizability model: a set of independent KV registers. Every write
// carries a value no other write uses, so a register's state is just the
// value of the last write applied ("" = missing), and a CAS's expected
// ModifyIndex can be named by the value the client read along with it: the
// entry has that index exactly when it still holds that value. checkIndexes
// verifies the assumption behind that (one ModifyIndex per value) from the
// reads. Locks extend the state with the holder: ?acquire=<session> writes
// its value and takes the lock when the key is free or already the
// session's; ?release=<session> writes and frees it only for the holder;
// put and cas keep the holder. A txn cas (/v1/txn, 409 = false) is a cas.

type linOp int

const (
	opPut linOp = iota
	opCAS
	opGet       // default consistency mode
	opGetConsis // ?consistent
	opAcquire   // PUT ?acquire=<session>
	opRelease   // PUT ?release=<session>
	opTxnCAS    // PUT /v1/txn with one cas
)

func (o linOp) String() string {
	return [...]string{"put", "cas", "get", "get?consistent", "acquire", "release", "txn-cas"}[o]
}

func (o linOp) write() bool { return o != opGet && o != opGetConsis }

// linState is one key: its value ("" = missing) and lock holder.
type linState struct {
	V, H string
}

type linInput struct {
	Op      linOp
	Key     string
	Value   string // put, cas
	Expect  string // cas: the value read together with ExpIdx ("" = missing, ExpIdx 0)
	ExpIdx  uint64
	Session string // acquire, release: the client's session
	Node    string // which agent the client talked to
}

type linOutput struct {
	OK      bool // cas result (put: true)
	Unknown bool // the write errored or timed out: it may or may not have happened
	Value   string
	Found   bool
	Index   uint64 // reads: ModifyIndex of the entry
	Session string // reads: the lock holder
}

var linModel = porcupine.Model{
	Partition: func(h []porcupine.Operation) [][]porcupine.Operation {
		byKey := map[string][]porcupine.Operation{}
		var keys []string
		for _, op := range h {
			k := op.Input.(linInput).Key
			if _, ok := byKey[k]; !ok {
				keys = append(keys, k)
			}
			byKey[k] = append(byKey[k], op)
		}
		sort.Strings(keys)
		out := make([][]porcupine.Operation, 0, len(keys))
		for _, k := range keys {
			out = append(out, byKey[k])
		}
		return out
	},
	Init: func() any { return linState{} },
	Step: func(state, input, output any) (bool, any) {
		s, in, out := state.(linState), input.(linInput), output.(linOutput)
		// cond writes next when it holds: an unknown write is linearized
		// wherever it fits, or after the end of the history when it never
		// happened; a known one must agree with cond.
		conditional := func(cond bool, next linState) (bool, any) {
			switch {
			case out.Unknown && cond, !out.Unknown && out.OK && cond:
				return true, next
			case out.Unknown, !out.OK && !cond:
				return true, s
			}
			return false, s
		}
		switch in.Op {
		case opPut:
			return true, linState{in.Value, s.H}
		case opCAS, opTxnCAS:
			return conditional(s.V == in.Expect, linState{in.Value, s.H})
		case opAcquire:
			return conditional(s.H == "" || s.H == in.Session, linState{in.Value, in.Session})
		case opRelease:
			return conditional(s.H != "" && s.H == in.Session, linState{in.Value, ""})
		default:
			if out.Found {
				return s.V == out.Value && s.H == out.Session, s
			}
			return s.V == "", s
		}
	},
	DescribeOperation: func(input, output any) string {
		in, out := input.(linInput), output.(linOutput)
		res := ""
		switch {
		case out.Unknown:
			res = "unknown"
		case in.Op == opPut:
			res = "ok"
		case in.Op.write():
			res = fmt.Sprint(out.OK)
		case out.Found && out.Session != "":
			res = fmt.Sprintf("%q@%d held by %s", out.Value, out.Index, out.Session)
		case out.Found:
			res = fmt.Sprintf("%q@%d", out.Value, out.Index)
		default:
			res = "missing"
		}
		switch in.Op {
		case opPut:
			return fmt.Sprintf("%s: put(%s, %q) -> %s", in.Node, in.Key, in.Value, res)
		case opCAS, opTxnCAS:
			return fmt.Sprintf("%s: %s(%s, idx %d (%q), %q) -> %s", in.Node, in.Op, in.Key, in.ExpIdx, in.Expect, in.Value, res)
		case opAcquire, opRelease:
			return fmt.Sprintf("%s: %s(%s, %s, %q) -> %s", in.Node, in.Op, in.Key, in.Session, in.Value, res)
		}
		return fmt.Sprintf("%s: %s(%s) -> %s", in.Node, in.Op, in.Key, res)
	},
	DescribeState: func(state any) string {
		s := state.(linState)
		switch {
		case s.V == "":
			return "<missing>"
		case s.H != "":
			return fmt.Sprintf("%q held by %s", s.V, s.H)
		}
		return fmt.Sprintf("%q", s.V)
	},
}

// linHistory records operations from concurrent clients.
type linHistory struct {
	start time.Time
	mu    sync.Mutex
	ops   []porcupine.Operation
}

func newLinHistory() *linHistory { return &linHistory{start: time.Now()} }

func (h *linHistory) now() int64 { return int64(time.Since(h.start)) }

func (h *linHistory) add(client int, in linInput, call, ret int64, out linOutput) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.ops = append(h.ops, porcupine.Operation{ClientId: client, Input: in, Call: call, Output: out, Return: ret})
}

// operations returns the history with every unknown write's return moved
// past the end of the history: it may take effect at any point after its
// call, or never.
func (h *linHistory) operations() []porcupine.Operation {
	h.mu.Lock()
	defer h.mu.Unlock()
	var end int64
	for _, op := range h.ops {
		if !op.Output.(linOutput).Unknown && op.Return > end {
			end = op.Return
		}
	}
	inf := end + int64(time.Hour)
	if inf < end { // overflow guard; never in practice
		inf = math.MaxInt64
	}
	ops := make([]porcupine.Operation, len(h.ops))
	for i, op := range h.ops {
		if op.Output.(linOutput).Unknown {
			op.Return = inf
		}
		ops[i] = op
	}
	return ops
}

// linStats counts a history's operations by kind and outcome.
func linStats(ops []porcupine.Operation) string {
	counts := map[string]int{}
	for _, op := range ops {
		in, out := op.Input.(linInput), op.Output.(linOutput)
		k := in.Op.String()
		switch {
		case out.Unknown:
			k += "/unknown"
		case in.Op != opPut && in.Op.write() && out.OK:
			k += "/ok"
		case in.Op != opPut && in.Op.write():
			k += "/failed"
		}
		counts[k]++
	}
	var parts []string
	for k, n := range counts {
		parts = append(parts, fmt.Sprintf("%s=%d", k, n))
	}
	sort.Strings(parts)
	return fmt.Sprintf("%d ops (%s)", len(ops), strings.Join(parts, " "))
}

// checkIndexes verifies that every value was read with one ModifyIndex and
// that no two values share one: a write applied twice (or an index reused)
// would otherwise hide behind the value-only model.
func checkIndexes(ops []porcupine.Operation) []string {
	idxOf := map[string]uint64{}
	valOf := map[string]string{} // key/index -> value
	var problems []string
	for _, op := range ops {
		in, out := op.Input.(linInput), op.Output.(linOutput)
		if in.Op.write() || !out.Found {
			continue
		}
		if i, ok := idxOf[out.Value]; ok && i != out.Index {
			problems = append(problems, fmt.Sprintf("key %s: value %q read with ModifyIndex %d and %d", in.Key, out.Value, i, out.Index))
		}
		idxOf[out.Value] = out.Index
		ki := fmt.Sprintf("%s/%d", in.Key, out.Index)
		if v, ok := valOf[ki]; ok && v != out.Value {
			problems = append(problems, fmt.Sprintf("key %s: ModifyIndex %d read with values %q and %q", in.Key, out.Index, v, out.Value))
		}
		valOf[ki] = out.Value
	}
	return problems
}

// lostWrites compares each key's final value with the acknowledged writes
// (ops as returned by operations(), unknown writes ending at "infinity"):
// the final value must come from some write, and a write acknowledged that
// started after the final value's write returned must not have vanished.
func lostWrites(ops []porcupine.Operation, final map[string]string) []string {
	retOf := map[string]int64{} // write value -> return time
	for _, op := range ops {
		if in := op.Input.(linInput); in.Op.write() {
			retOf[in.Value] = op.Return
		}
	}
	var problems []string
	for key, v := range final {
		var after int64 = -1
		if v != "" {
			ret, ok := retOf[v]
			if !ok {
				problems = append(problems, fmt.Sprintf("key %s: final value %q was never written", key, v))
				continue
			}
			after = ret
		}
		for _, op := range ops {
			in, out := op.Input.(linInput), op.Output.(linOutput)
			if in.Key == key && in.Op.write() && !out.Unknown && out.OK && in.Value != v && op.Call > after {
				problems = append(problems, fmt.Sprintf("key %s: acknowledged write %q [%v, %v] lost; final value %q",
					key, in.Value, time.Duration(op.Call), time.Duration(op.Return), v))
			}
		}
	}
	sort.Strings(problems)
	return problems
}

// boundUnknown tightens the history without changing its meaning: an
// unknown write whose value some read returned took effect before that
// read returned, so its return moves there; keep=false also drops the
// unknown writes nobody observed. Dropping only ever adds violations (a
// dropped write might be what made a CAS fail), so a pruned history that
// checks Ok proves the full one Ok; see checkLinearizable.
func boundUnknown(ops []porcupine.Operation, keep bool) []porcupine.Operation {
	seen := map[string]int64{} // value -> earliest return of a read that returned it
	for _, op := range ops {
		in, out := op.Input.(linInput), op.Output.(linOutput)
		if !in.Op.write() && out.Found {
			if r, ok := seen[out.Value]; !ok || op.Return < r {
				seen[out.Value] = op.Return
			}
		}
	}
	res := make([]porcupine.Operation, 0, len(ops))
	for _, op := range ops {
		in, out := op.Input.(linInput), op.Output.(linOutput)
		if in.Op.write() && out.Unknown {
			r, ok := seen[in.Value]
			if !ok && !keep {
				continue
			}
			if ok && r < op.Return {
				op.Return = max(r, op.Call)
			}
		}
		res = append(res, op)
	}
	return res
}

// linCheck runs porcupine over the history (unknown writes ending at
// "infinity", as operations() returns it). Unknown writes that nobody
// observed make the search explode, so it first checks the history
// without them, which settles it when that passes, and only otherwise the
// exact history. It returns the verdict and what to visualize.
func linCheck(ops []porcupine.Operation, timeout time.Duration, logf func(string, ...any)) (porcupine.CheckResult, porcupine.LinearizationInfo) {
	start := time.Now()
	pruned := boundUnknown(ops, false)
	res, info := porcupine.CheckOperationsVerbose(linModel, pruned, timeout)
	logf("porcupine: %s over %s in %v (unobserved unknown writes left out)", res, linStats(pruned), time.Since(start).Round(time.Millisecond))
	if res == porcupine.Ok {
		return res, info
	}
	start = time.Now()
	full, fullInfo := porcupine.CheckOperationsVerbose(linModel, boundUnknown(ops, true), timeout)
	logf("porcupine: %s over the full history, %s, in %v", full, linStats(ops), time.Since(start).Round(time.Millisecond))
	if full == porcupine.Unknown {
		return full, info // the pruned history's counterexample is the lead
	}
	return full, fullInfo
}

// checkLinearizable fails the test unless the history is linearizable; on
// a violation it writes porcupine's visualization into a temporary
// directory and logs its path.
func checkLinearizable(t *testing.T, ops []porcupine.Operation, timeout time.Duration) {
	t.Helper()
	res, info := linCheck(ops, timeout, t.Logf)
	if res == porcupine.Ok {
		return
	}
	path := filepath.Join(t.TempDir(), "linearizability.html")
	if err := porcupine.VisualizePath(linModel, info, path); err != nil {
		t.Logf("visualize: %v", err)
	} else {
		t.Logf("visualization: %s", path)
	}
	if res == porcupine.Illegal {
		for _, part := range info.PartialLinearizationsOperations() {
			longest := 0
			for _, lin := range part {
				longest = max(longest, len(lin))
			}
			if len(part) > 0 && len(part[0]) > 0 {
				t.Logf("key %s: longest partial linearization has %d ops", part[0][0].Input.(linInput).Key, longest)
			}
		}
		t.Errorf("history is not linearizable")
		return
	}
	t.Errorf("linearizability check inconclusive (%s) after %v", res, timeout)
}

// The checker itself: known-good and known-bad histories.
func TestLinModel(t *testing.T) {
	put := func(c int, v string, call, ret int64, unknown bool) porcupine.Operation {
		return porcupine.Operation{ClientId: c, Input: linInput{Op: opPut, Key: "k", Value: v}, Call: call, Return: ret,
			Output: linOutput{OK: !unknown, Unknown: unknown}}
	}
	get := func(c int, v string, idx uint64, call, ret int64) porcupine.Operation {
		return porcupine.Operation{ClientId: c, Input: linInput{Op: opGet, Key: "k"}, Call: call, Return: ret,
			Output: linOutput{Found: v != "", Value: v, Index: idx}}
	}
	cas := func(c int, expect string, v string, ok bool, call, ret int64) porcupine.Operation {
		return porcupine.Operation{ClientId: c, Input: linInput{Op: opCAS, Key: "k", Expect: expect, Value: v}, Call: call, Return: ret,
			Output: linOutput{OK: ok}}
	}
	lock := func(c int, op linOp, session, v string, ok bool, call, ret int64) porcupine.Operation {
		return porcupine.Operation{ClientId: c, Input: linInput{Op: op, Key: "k", Session: session, Value: v}, Call: call, Return: ret,
			Output: linOutput{OK: ok}}
	}
	getHeld := func(c int, v, holder string, call, ret int64) porcupine.Operation {
		return porcupine.Operation{ClientId: c, Input: linInput{Op: opGet, Key: "k"}, Call: call, Return: ret,
			Output: linOutput{Found: true, Value: v, Session: holder}}
	}
	const inf = 1 << 40
	for _, tc := range []struct {
		name string
		ops  []porcupine.Operation
		want porcupine.CheckResult
	}{
		{"read your write", []porcupine.Operation{put(0, "x", 0, 10, false), get(1, "x", 5, 11, 20)}, porcupine.Ok},
		{"stale read", []porcupine.Operation{put(0, "x", 0, 10, false), put(0, "y", 11, 20, false), get(1, "x", 5, 21, 30)}, porcupine.Illegal},
		{"acknowledged write lost", []porcupine.Operation{put(0, "x", 0, 10, false), get(1, "", 0, 21, 30)}, porcupine.Illegal},
		{"unknown write seen", []porcupine.Operation{put(0, "x", 0, inf, true), get(1, "x", 5, 21, 30)}, porcupine.Ok},
		{"unknown write seen then gone", []porcupine.Operation{put(0, "x", 0, inf, true), get(1, "x", 5, 21, 30), get(1, "", 0, 31, 40)}, porcupine.Illegal},
		{"cas", []porcupine.Operation{put(0, "x", 0, 10, false), cas(1, "x", "y", true, 11, 20), cas(2, "x", "z", false, 21, 30), get(1, "y", 9, 31, 40)}, porcupine.Ok},
		{"cas failed for nothing", []porcupine.Operation{put(0, "x", 0, 10, false), cas(1, "x", "y", false, 11, 20), get(1, "x", 5, 31, 40)}, porcupine.Illegal},
		// Only the unobserved unknown write explains the failed CAS: the
		// pruned check fails, the full one passes.
		{"cas failed by an unknown write", []porcupine.Operation{put(0, "x", 0, 10, false), put(2, "w", 11, inf, true), cas(1, "x", "y", false, 15, 20)}, porcupine.Ok},
		{"lock, refused, released, taken", []porcupine.Operation{lock(0, opAcquire, "s1", "a", true, 0, 10), lock(1, opAcquire, "s2", "b", false, 11, 20),
			getHeld(2, "a", "s1", 21, 30), lock(0, opRelease, "s1", "c", true, 31, 40), lock(1, opAcquire, "s2", "d", true, 41, 50)}, porcupine.Ok},
		{"two holders", []porcupine.Operation{lock(0, opAcquire, "s1", "a", true, 0, 10), lock(1, opAcquire, "s2", "b", true, 11, 20)}, porcupine.Illegal},
		{"release by a non-holder", []porcupine.Operation{lock(0, opAcquire, "s1", "a", true, 0, 10), lock(1, opRelease, "s2", "b", true, 11, 20)}, porcupine.Illegal},
		{"holder lost", []porcupine.Operation{lock(0, opAcquire, "s1", "a", true, 0, 10), put(1, "x", 11, 20, false), getHeld(2, "x", "", 21, 30)}, porcupine.Illegal},
	} {
		res, _ := linCheck(tc.ops, 10*time.Second, t.Logf)
		if res != tc.want {
			t.Errorf("%s: %s, want %s", tc.name, res, tc.want)
		}
	}
	if p := lostWrites([]porcupine.Operation{put(0, "x", 0, 10, false), put(0, "y", 11, 20, false)}, map[string]string{"k": "x"}); len(p) != 1 {
		t.Errorf("lostWrites: %v", p)
	}
	if p := checkIndexes([]porcupine.Operation{get(0, "x", 5, 0, 1), get(0, "x", 7, 2, 3)}); len(p) != 1 {
		t.Errorf("checkIndexes: %v", p)
	}
}
