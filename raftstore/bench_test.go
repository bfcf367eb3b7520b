package raftstore

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/hashicorp/go-hclog"
	"github.com/minconsul/minconsul/structs"
)

// BenchmarkApply_KVSet measures committed KV writes per second against a
// store on disk (raft-boltdb, fsync per batch) with 1, 16 and 64
// concurrent writers. Raft group commit (BatchApplyCh) lets concurrent
// writers share one fsync, so throughput should grow with writers.
func BenchmarkApply_KVSet(b *testing.B) {
	for _, writers := range []int{1, 16, 64} {
		b.Run(fmt.Sprintf("writers=%d", writers), func(b *testing.B) {
			st, err := New(diskConfig(b.TempDir()), hclog.NewNullLogger())
			if err != nil {
				b.Fatal(err)
			}
			startStore(b, st)
			value := []byte("0123456789abcdef0123456789abcdef")
			ctx := context.Background()

			var next atomic.Int64
			var wg sync.WaitGroup
			errs := make(chan error, writers)
			b.ResetTimer()
			for w := range writers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for {
						i := next.Add(1)
						if i > int64(b.N) {
							return
						}
						cmd := structs.Command{Type: structs.KVSet, KV: &structs.DirEntry{
							Key: fmt.Sprintf("bench/%d/%d", w, i), Value: value}}
						if _, _, err := st.Apply(ctx, cmd); err != nil {
							errs <- err
							return
						}
					}
				}()
			}
			wg.Wait()
			b.StopTimer()
			close(errs)
			if err := <-errs; err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
		})
	}
}
