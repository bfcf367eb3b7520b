package telemetry

import (
	"math"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// window is a timer's Prometheus summary: the cumulative count and sum, and
// the 0.5/0.9/0.99 quantiles of the observations of the last 8 to 10
// seconds — the window a client_golang summary with go-metrics' options
// (MaxAge 10 s in 5 age buckets) reports. The quantiles come from counts in
// log-spaced buckets (64 per power of two: the value reported is within
// 0.8 % of an observed one at the rank asked) instead of client_golang's
// quantile streams, which cost about a microsecond per observation as each
// is inserted in all five age buckets. An observation here is one counter
// increment. Its owner's mutex guards it.
type window struct {
	count   uint64
	sum     float64
	slots   [windowSlots][]uint32 // counts by bucket, of 2 s each; made on first use
	cur     int                   // the slot being filled
	curEnd  int64                 // when it ends (Unix ns)
	created bool
}

const (
	windowSlots   = 5
	windowSlotDur = int64(10 * time.Second / windowSlots)
	histSubBits   = 6
	histSub       = 1 << histSubBits
	histMinExp    = -20 // 2^-20 ms, about 1 ns
	histMaxExp    = 24  // 2^24 ms, about 4.7 hours
	histBuckets   = (histMaxExp - histMinExp + 1) * histSub
)

// quantiles are go-metrics' objectives.
var quantiles = []float64{0.5, 0.9, 0.99}

func bucketOf(v float64) int {
	if !(v > 0) {
		return 0
	}
	b := math.Float64bits(v)
	exp := int(b>>52&0x7ff) - 1023
	switch {
	case exp < histMinExp:
		return 0
	case exp > histMaxExp:
		return histBuckets - 1
	}
	return (exp-histMinExp)*histSub + int(b>>(52-histSubBits)&(histSub-1))
}

// bucketValue is the middle of bucket i.
func bucketValue(i int) float64 {
	return math.Ldexp(1+(float64(i%histSub)+0.5)/histSub, i/histSub+histMinExp)
}

// advance moves the window to now: slots older than 10 s are emptied.
func (w *window) advance(now int64) {
	if !w.created {
		for i := range w.slots {
			w.slots[i] = make([]uint32, histBuckets)
		}
		w.curEnd = now + windowSlotDur
		w.created = true
		return
	}
	if now < w.curEnd {
		return
	}
	n := (now-w.curEnd)/windowSlotDur + 1
	for i := int64(0); i < n && i < windowSlots; i++ {
		w.cur = (w.cur + 1) % windowSlots
		clear(w.slots[w.cur])
	}
	w.curEnd += n * windowSlotDur
}

func (w *window) observe(now int64, v float64) {
	w.advance(now)
	w.count++
	w.sum += v
	w.slots[w.cur][bucketOf(v)]++
}

// metric is the summary as Prometheus collects it (NaN quantiles when the
// window is empty, as client_golang's).
func (w *window) metric(desc *prometheus.Desc, now int64) prometheus.Metric {
	w.advance(now)
	var total uint64
	for _, s := range w.slots {
		for _, c := range s {
			total += uint64(c)
		}
	}
	qs := make(map[float64]float64, len(quantiles))
	for _, q := range quantiles {
		qs[q] = math.NaN()
	}
	if total > 0 {
		next := 0
		var cum uint64
		for b := 0; b < histBuckets && next < len(quantiles); b++ {
			for _, s := range w.slots {
				cum += uint64(s[b])
			}
			for next < len(quantiles) && float64(cum) >= quantiles[next]*float64(total) && cum > 0 {
				qs[quantiles[next]] = bucketValue(b)
				next++
			}
		}
	}
	return prometheus.MustNewConstSummary(desc, w.count, w.sum, qs)
}
