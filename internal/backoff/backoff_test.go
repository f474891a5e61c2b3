package backoff_test

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/backoff"
)

const ms = time.Millisecond

// TestReconnectBounds proves the README's claim about the connector's
// reconnects: exponential backoff with jitter, 250 ms to 30 s.
func TestReconnectBounds(t *testing.T) {
	p := backoff.Reconnect
	if p.Min != 250*ms || p.Max != 30*time.Second || !p.Jitter {
		t.Fatalf("Reconnect = %+v, want 250ms to 30s with jitter, as the README says", p)
	}
	for _, tc := range []struct {
		n      int
		lo, hi time.Duration
	}{
		{0, 250 * ms, 500 * ms},
		{1, 500 * ms, time.Second},
		{2, time.Second, 2 * time.Second},
		{5, 8 * time.Second, 16 * time.Second},
		{6, 15 * time.Second, 30 * time.Second}, // 32 s capped at 30 s
		{7, 15 * time.Second, 30 * time.Second},
		{1000, 15 * time.Second, 30 * time.Second},
	} {
		lo, hi := p.Bounds(tc.n)
		if lo != tc.lo || hi != tc.hi {
			t.Errorf("Bounds(%d) = [%v, %v], want [%v, %v]", tc.n, lo, hi, tc.lo, tc.hi)
		}
		// The extremes of the random draw land exactly on the bounds.
		if d := p.Delay(tc.n, func(int64) int64 { return 0 }); d != tc.lo {
			t.Errorf("Delay(%d) with the smallest draw = %v, want %v", tc.n, d, tc.lo)
		}
		if d := p.Delay(tc.n, func(k int64) int64 { return k - 1 }); d != tc.hi {
			t.Errorf("Delay(%d) with the largest draw = %v, want %v", tc.n, d, tc.hi)
		}
	}
}

// TestJitterSpreads draws real delays: every one within [250 ms, 30 s]
// and its attempt's range, and together they cover the range rather than
// repeat one value.
func TestJitterSpreads(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	b := backoff.Backoff{Policy: backoff.Reconnect, Rand: r.Int64N}
	for n := range 40 {
		lo, hi := backoff.Reconnect.Bounds(n)
		d := b.Next()
		if d < 250*ms || d > 30*time.Second || d < lo || d > hi {
			t.Fatalf("retry %d waited %v: outside [%v, %v] or [250ms, 30s]", n, d, lo, hi)
		}
	}
	least, most := time.Duration(1<<62), time.Duration(0)
	for range 1000 {
		d := backoff.Reconnect.Delay(0, r.Int64N)
		least, most = min(least, d), max(most, d)
	}
	if least > 275*ms || most < 475*ms {
		t.Fatalf("1000 first delays spread over [%v, %v]; want most of [250ms, 500ms]", least, most)
	}
}

func TestWithoutJitter(t *testing.T) {
	p := backoff.Policy{Min: 100 * ms, Max: 30 * time.Second}
	want := []time.Duration{100 * ms, 200 * ms, 400 * ms, 800 * ms, 1600 * ms, 3200 * ms, 6400 * ms,
		12800 * ms, 25600 * ms, 30 * time.Second, 30 * time.Second}
	for n, w := range want {
		if d := p.Delay(n, nil); d != w {
			t.Errorf("Delay(%d) = %v, want %v", n, d, w)
		}
	}
}

func TestResetAndOddPolicies(t *testing.T) {
	b := backoff.Backoff{Policy: backoff.Policy{Min: time.Second, Max: 8 * time.Second}}
	for range 100 {
		b.Next()
	}
	if d := b.Next(); d != 8*time.Second {
		t.Fatalf("after 100 failures the delay is %v, want the 8s maximum", d)
	}
	b.Reset()
	if d := b.Next(); d != time.Second {
		t.Fatalf("after Reset the delay is %v, want the 1s minimum", d)
	}
	// Max below Min: Min wins, with or without jitter.
	for _, j := range []bool{false, true} {
		p := backoff.Policy{Min: time.Second, Max: time.Millisecond, Jitter: j}
		if d := p.Delay(3, nil); d != time.Second {
			t.Errorf("jitter=%v: Delay with Max < Min = %v, want Min (1s)", j, d)
		}
	}
}
