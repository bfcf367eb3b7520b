package testutil

import (
	"sort"
	"testing"
	"time"
)

// ABRounds collects the rounds of an interleaved A/B benchmark: each pair is
// one round without the thing measured and one with it, run back to back.
// On a shared machine a burst of other work lands in a few rounds; the
// median of the pairs' ratios ignores them where the ratio of the totals
// does not.
type ABRounds struct {
	with, without time.Duration
	ratios        []float64
}

// Add records one pair of rounds.
func (r *ABRounds) Add(without, with time.Duration) {
	r.with += with
	r.without += without
	r.ratios = append(r.ratios, float64(with)/float64(without))
}

// Report sets the benchmark's metrics: cost (median of the pairs' with /
// without: 1.03 is a 3 % cost), cost-total (ratio of the totals), and the
// time per operation with and without, perRound operations per round.
func (r *ABRounds) Report(b *testing.B, perRound int, unit string) {
	if len(r.ratios) == 0 {
		return
	}
	s := append([]float64(nil), r.ratios...)
	sort.Float64s(s)
	med := s[len(s)/2]
	if len(s)%2 == 0 {
		med = (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	n := float64(len(s) * perRound)
	b.ReportMetric(med, "cost")
	b.ReportMetric(float64(r.with)/float64(r.without), "cost-total")
	b.ReportMetric(float64(r.with.Nanoseconds())/n, "with-ns/"+unit)
	b.ReportMetric(float64(r.without.Nanoseconds())/n, "without-ns/"+unit)
}
