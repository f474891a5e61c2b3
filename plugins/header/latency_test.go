package header_test

import (
	"context"
	"net/http"
	"slices"
	"testing"
	"time"

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

// TestRoundTripLatency logs the p50 and p99 of 10,000 sequential Inject
// calls. It only reports: times on a shared machine are not a pass/fail
// criterion.
func TestRoundTripLatency(t *testing.T) {
	inj, err := open(t, benchConfig)
	if err != nil {
		t.Fatal(err)
	}
	req := benchRequest()
	const n = 10000
	took := make([]time.Duration, 0, n)
	for range n {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		start := time.Now()
		_, err := inj.Inject(ctx, req)
		took = append(took, time.Since(start))
		cancel()
		if err != nil {
			t.Fatal(err)
		}
	}
	slices.Sort(took)
	t.Logf("Inject round trip over %d calls: p50 %v, p99 %v, max %v", n, took[n/2], took[n*99/100], took[n-1])
}
