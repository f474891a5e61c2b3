package wasm

import (
	"context"
	"fmt"
	"net/http"
	"runtime"
	"testing"
	"time"
)

// discard is a ResponseWriter that keeps nothing, so the benchmarks
// measure the filters, not a recorder.
type discard struct{ h http.Header }

func (d *discard) Header() http.Header         { return d.h }
func (d *discard) Write(p []byte) (int, error) { return len(p), nil }
func (d *discard) WriteHeader(int)             {}

// BenchmarkChain measures the per-request cost of chains of 1 and 3
// small filters (WAT and Go guests) in front of a handler that answers
// 204. Besides ns/op it reports ns/filter: the chain's time minus a
// no-filter baseline timed in the same run, per filter.
func BenchmarkChain(b *testing.B) {
	h := newHarness(b)
	guests := map[string]string{"wat": watFile(b, "small"), "go": goGuest(b, "./testdata/sdkguest")}
	app := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	req, _ := http.NewRequest("GET", "http://app.example/bench?q=1", nil)
	req.Header.Set("X-Request-Id", "bench")
	req.RemoteAddr = "192.0.2.1:4711"
	serve := func(hd http.Handler, n int) time.Duration {
		w := &discard{h: http.Header{}}
		start := time.Now()
		for range n {
			clear(w.h)
			hd.ServeHTTP(w, req)
		}
		return time.Since(start)
	}
	b.Run("baseline", func(b *testing.B) { serve(app, b.N) })
	for _, kind := range []string{"wat", "go"} {
		for _, n := range []int{1, 3} {
			b.Run(fmt.Sprintf("%s-%d", kind, n), func(b *testing.B) {
				var hd http.Handler = app
				for range n {
					hd = h.load(b, guests[kind], func(s *Spec) { s.PoolSize = 1 }).Wrap(hd)
				}
				serve(hd, 100) // warm up
				b.ReportAllocs()
				b.ResetTimer()
				chain := serve(hd, b.N)
				b.StopTimer()
				base := serve(app, b.N)
				b.ReportMetric(float64(chain-base)/float64(b.N)/float64(n), "ns/filter")
			})
		}
	}
}

// BenchmarkInstanceMemory reports the Go heap an instance adds (its
// linear memory included) and its linear memory alone.
func BenchmarkInstanceMemory(b *testing.B) {
	h := newHarness(b)
	for _, g := range []struct{ name, path string }{{"wat", watFile(b, "small")}, {"go", goGuest(b, "./testdata/sdkguest")}} {
		b.Run(g.name, func(b *testing.B) {
			f := h.load(b, g.path, nil)
			const k = 8
			var before, after runtime.MemStats
			var pages uint32
			for range b.N {
				ins := make([]*instance, 0, k)
				runtime.GC()
				runtime.ReadMemStats(&before)
				for range k {
					in, err := f.newInstance(context.Background())
					if err != nil {
						b.Fatal(err)
					}
					ins = append(ins, in)
				}
				runtime.GC()
				runtime.ReadMemStats(&after)
				pages = ins[0].pages()
				for _, in := range ins {
					in.close()
				}
			}
			b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/k/(1<<20), "MiB-heap/instance")
			b.ReportMetric(float64(pages)*wasmPageSizeBytes/(1<<20), "MiB-linear/instance")
		})
	}
}
