package telemetry

import (
	"testing"
	"time"
)

// BenchmarkMeasureSince is one timer observation with two labels (the
// HTTP timer), next to a bare time.Since as the same-run baseline.
func BenchmarkMeasureSince(b *testing.B) {
	m, err := New(Config{})
	if err != nil {
		b.Fatal(err)
	}
	key := []string{"api", "http"}
	labels := []Label{{Name: "method", Value: "GET"}, {Name: "path", Value: "v1_kv_"}}
	var sink time.Duration
	b.Run("baseline-time.Since", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			sink += time.Since(time.Now())
		}
	})
	b.Run("metrics", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			m.MeasureSince(key, time.Now(), labels...)
		}
	})
	_ = sink
}
