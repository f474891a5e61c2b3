package header_test

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/plugins/header"
	"github.com/gatehouse/gatehouse/sdk"
)

var benchConfig = map[string]any{
	"headers": map[string]any{"X-Remote-User": "{{.UPN}}", "X-Remote-Groups": "{{join .Groups}}"},
}

func benchRequest() sdk.InjectRequest {
	return sdk.InjectRequest{Identity: alice, Method: "GET", URL: "http://hr.internal/reports",
		Header: http.Header{"User-Agent": {"Mozilla/5.0"}, "Accept": {"text/html"}, "Accept-Language": {"en"}}}
}

// BenchmarkInject is one Inject round trip to the plug-in process over
// gRPC with mutual TLS on a Unix socket.
func BenchmarkInject(b *testing.B) {
	inj, err := open(b, benchConfig)
	if err != nil {
		b.Fatal(err)
	}
	req := benchRequest()
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := inj.Inject(ctx, req); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkInjectLatency is the plug-in round trip as a request sees it:
// each call timed alone, reported as p50 and p99 next to the same Inject
// called in-process (the baseline: what the process hop adds is the
// difference). Run by make bench; never a pass/fail criterion.
func BenchmarkInjectLatency(b *testing.B) {
	inj, err := open(b, benchConfig)
	if err != nil {
		b.Fatal(err)
	}
	local, err := header.New(sdk.ConfigureRequest{App: "hr", Plugin: "header", Config: mustJSON(b, benchConfig)}, time.Now)
	if err != nil {
		b.Fatal(err)
	}
	req := benchRequest()
	ctx := context.Background()
	var remote, inproc []time.Duration
	for b.Loop() {
		start := time.Now()
		if _, err := inj.Inject(ctx, req); err != nil {
			b.Fatal(err)
		}
		mid := time.Now()
		if _, err := local.Inject(ctx, req); err != nil {
			b.Fatal(err)
		}
		remote, inproc = append(remote, mid.Sub(start)), append(inproc, time.Since(mid))
	}
	pct := func(d []time.Duration, p int) float64 {
		slices.Sort(d)
		return float64(d[len(d)*p/100].Nanoseconds()) / 1e3
	}
	b.ReportMetric(pct(remote, 50), "p50-µs")
	b.ReportMetric(pct(remote, 99), "p99-µs")
	b.ReportMetric(pct(inproc, 50), "inproc-p50-µs")
	b.ReportMetric(pct(inproc, 99), "inproc-p99-µs")
}

func mustJSON(b *testing.B, v any) []byte {
	j, err := json.Marshal(v)
	if err != nil {
		b.Fatal(err)
	}
	return j
}
