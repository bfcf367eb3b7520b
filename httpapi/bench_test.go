package httpapi

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"
	"github.com/hashicorp/go-hclog"

	"github.com/minconsul/minconsul/structs"
)

// BenchmarkKVGet compares a KV GET through the full handler (real Dev
// raftstore) with a bare net/http handler writing the same bytes, both over
// loopback with keep-alive clients. Report ratio = bare ns/op / httpapi ns/op.
func BenchmarkKVGet(b *testing.B) {
	e := newEnv(b)
	e.srv.logger.SetLevel(hclog.Info) // production level: no per-request logging
	if _, err := e.client.KV().Put(&api.KVPair{Key: "bench/key", Value: []byte("some-value-of-moderate-size-0123456789")}, nil); err != nil {
		b.Fatal(err)
	}
	_, _, body := e.do("GET", "/v1/kv/bench/key", "")
	payload := []byte(body)
	bare := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(payload)
	}))
	b.Cleanup(bare.Close)

	run := func(b *testing.B, url string) {
		tr := &http.Transport{MaxIdleConnsPerHost: 256}
		client := &http.Client{Transport: tr}
		b.Cleanup(tr.CloseIdleConnections)
		b.ReportAllocs()
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				resp, err := client.Get(url)
				if err != nil {
					b.Error(err)
					return
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					b.Errorf("status %d", resp.StatusCode)
					return
				}
			}
		})
	}
	b.Run("bare", func(b *testing.B) { run(b, bare.URL+"/v1/kv/bench/key") })
	b.Run("httpapi", func(b *testing.B) { run(b, e.http.URL+"/v1/kv/bench/key") })
	b.Run("httpapi-stale", func(b *testing.B) { run(b, e.http.URL+"/v1/kv/bench/key?stale") })
}

// BenchmarkKVGetRatio interleaves rounds against the bare handler and the
// full handler so that machine noise hits both alike, and reports
// ratio = bare time / httpapi time (>= 0.70 is the target).
func BenchmarkKVGetRatio(b *testing.B) {
	e := newEnv(b)
	e.srv.logger.SetLevel(hclog.Info) // production level: no per-request logging
	if _, err := e.client.KV().Put(&api.KVPair{Key: "bench/key", Value: []byte("some-value-of-moderate-size-0123456789")}, nil); err != nil {
		b.Fatal(err)
	}
	_, _, body := e.do("GET", "/v1/kv/bench/key", "")
	payload := []byte(body)
	bare := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(payload)
	}))
	b.Cleanup(bare.Close)
	round := getRounds(b)
	paths := map[string]string{"default": "/v1/kv/bench/key", "stale": "/v1/kv/bench/key?stale"}
	for _, mode := range []string{"default", "stale"} {
		b.Run(mode, func(b *testing.B) {
			var tBare, tAPI time.Duration
			for i := 0; i < b.N; i++ {
				tBare += round(bare.URL + paths[mode])
				tAPI += round(e.http.URL + paths[mode])
			}
			b.ReportMetric(float64(tBare)/float64(tAPI), "ratio")
			b.ReportMetric(float64(tAPI.Nanoseconds())/float64(b.N*perRound), "ns/req")
		})
	}
}

// stubBackend answers KVGet from memory, so BenchmarkHandler measures the
// handler's own cost (routing, parsing, headers, encoding).
type stubBackend struct {
	Backend
	entry *structs.DirEntry
}

func (s *stubBackend) KVGet(ctx context.Context, req *structs.KeyRequest) (*structs.Indexed[*structs.DirEntry], error) {
	return &structs.Indexed[*structs.DirEntry]{Value: s.entry, QueryMeta: structs.QueryMeta{Index: s.entry.ModifyIndex, KnownLeader: true}}, nil
}

type discardWriter struct{ h http.Header }

func (d *discardWriter) Header() http.Header         { return d.h }
func (d *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (d *discardWriter) WriteHeader(int)             {}

func BenchmarkHandler(b *testing.B) {
	st := &stubBackend{entry: &structs.DirEntry{Key: "bench/key", Value: []byte("some-value-of-moderate-size-0123456789"), CreateIndex: 5, ModifyIndex: 7}}
	srv := New(Config{Datacenter: "dc1"}, st, nil, hclog.NewNullLogger())
	payload := appendDirEntries(nil, []*structs.DirEntry{st.entry})
	bare := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(payload)
	})
	for _, c := range []struct {
		name string
		h    http.Handler
	}{{"bare", bare}, {"httpapi", srv}} {
		b.Run(c.name, func(b *testing.B) {
			req := httptest.NewRequest("GET", "/v1/kv/bench/key", nil)
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				w := &discardWriter{h: http.Header{}}
				c.h.ServeHTTP(w, req)
			}
		})
	}
}

// perRound is how many GETs one round of getRounds sends.
const perRound = 400

// getRounds returns a load round: perRound keep-alive GETs of a URL from 8
// concurrent clients sharing one transport, timed as a whole.
func getRounds(b *testing.B) func(url string) time.Duration {
	const workers = 8
	tr := &http.Transport{MaxIdleConnsPerHost: 64}
	b.Cleanup(tr.CloseIdleConnections)
	client := &http.Client{Transport: tr}
	return func(url string) time.Duration {
		start := time.Now()
		var wg sync.WaitGroup
		for range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range perRound / workers {
					resp, err := client.Get(url)
					if err != nil {
						b.Error(err)
						return
					}
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
			}()
		}
		wg.Wait()
		return time.Since(start)
	}
}
