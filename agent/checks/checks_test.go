package checks

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/minconsul/minconsul/structs"
)

type result struct{ status, output string }

func TestThresholds_Filter(t *testing.T) {
	const (
		P = structs.HealthPassing
		W = structs.HealthWarning
		C = structs.HealthCritical
	)
	cases := []struct {
		name string
		th   Thresholds
		in   []string
		want []string // reported statuses, in order
	}{
		{"none", Thresholds{}, []string{P, C, P, C}, []string{P, C, P, C}},
		{"first result at once", Thresholds{SuccessBeforePassing: 3, FailuresBeforeCritical: 3}, []string{P}, []string{P}},
		{"success before passing", Thresholds{SuccessBeforePassing: 2},
			[]string{C, P, P, C, P, P, P}, []string{C, P, C, P, P}},
		{"failures before critical (warning defaults to it)", Thresholds{FailuresBeforeCritical: 3},
			[]string{P, C, C, C, C, P, C}, []string{P, C, C, P}},
		{"warning first", Thresholds{FailuresBeforeWarning: 1, FailuresBeforeCritical: 3},
			[]string{P, C, C, C, P}, []string{P, W, W, C, P}},
		{"warning counts as success", Thresholds{SuccessBeforePassing: 2},
			[]string{C, W, P}, []string{C, P}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			f := tc.th.Filter(func(status, _ string) { got = append(got, status) })
			for _, s := range tc.in {
				f(s, "out")
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Fatalf("reported %v, want %v", got, tc.want)
			}
		})
	}
}

func TestTail_KeepsTheEndWithConsulsNote(t *testing.T) {
	tl := newTail(8)
	fmt.Fprint(tl, "0123")
	if tl.captured() != "0123" {
		t.Fatalf("short output changed: %q", tl.captured())
	}
	fmt.Fprint(tl, "456789")
	fmt.Fprint(tl, "ab")
	if got, want := tl.captured(), "Captured 8 of 12 bytes\n...\n456789ab"; got != want {
		t.Fatalf("captured %q, want %q", got, want)
	}
	fmt.Fprint(tl, strings.Repeat("z", 20))
	if got := tl.String(); got != strings.Repeat("z", 8) {
		t.Fatalf("a write longer than the buffer kept %q", got)
	}
}

func TestTTLOutput(t *testing.T) {
	long := strings.Repeat("x", MaxOutput+10)
	got := TTLOutput(long, 0)
	if want := long[:MaxOutput] + fmt.Sprintf(" ... (captured %d of %d bytes)", MaxOutput, MaxOutput+10); got != want {
		t.Fatalf("TTLOutput tail %q", got[MaxOutput-5:])
	}
	if TTLOutput("ok", 0) != "ok" {
		t.Fatal("short output changed")
	}
}

// FuzzTail: whatever is written, the tail is the last bytes of it, never
// longer than its size, and the count is exact.
func FuzzTail(f *testing.F) {
	f.Add([]byte("hello"), []byte(" world"), 4)
	f.Add([]byte{}, []byte("x"), 1)
	f.Add([]byte(strings.Repeat("a", 100)), []byte("b"), 64)
	f.Fuzz(func(t *testing.T, a, b []byte, size int) {
		if size <= 0 || size > 1<<12 {
			return
		}
		tl := newTail(size)
		_, _ = tl.Write(a)
		_, _ = tl.Write(b)
		all := append(append([]byte{}, a...), b...)
		want := all
		if len(want) > size {
			want = want[len(want)-size:]
		}
		if tl.String() != string(want) || tl.total != int64(len(all)) {
			t.Fatalf("tail %q (total %d), want %q (%d)", tl.String(), tl.total, want, len(all))
		}
	})
}

func probe(t *testing.T, p Probe) result {
	t.Helper()
	s, o := p.Probe(context.Background())
	return result{s, o}
}

type countProbe struct{ n int }

func (p *countProbe) Interval() time.Duration { return time.Hour }
func (p *countProbe) Probe(context.Context) (string, string) {
	p.n++
	return structs.HealthPassing, "ok"
}

// The first probe waits for the stagger it is given, and Stagger stays
// within one interval.
func TestRun_Staggered(t *testing.T) {
	if Stagger(0) != 0 {
		t.Fatal("no interval, yet a stagger")
	}
	for range 1000 {
		if d := Stagger(time.Second); d < 0 || d >= time.Second {
			t.Fatalf("stagger %v outside [0, 1s)", d)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	p := &countProbe{}
	start := time.Now()
	var first time.Duration
	Run(ctx, p, 50*time.Millisecond, func(string, string) {
		first = time.Since(start)
		cancel()
	})
	if p.n != 1 || first < 50*time.Millisecond {
		t.Fatalf("%d probes, first after %v, want after the 50ms stagger", p.n, first)
	}
}
