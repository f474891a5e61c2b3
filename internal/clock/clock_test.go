package clock_test

import (
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/clock"
)

type fake struct{ now time.Time }

func (f *fake) Now() time.Time                         { return f.now }
func (f *fake) After(d time.Duration) <-chan time.Time { return nil }

func TestOr(t *testing.T) {
	f := &fake{now: time.Unix(42, 0)}
	if got := clock.Or(f).Now(); !got.Equal(f.now) {
		t.Fatalf("Or(fake).Now() = %v, want the fake's %v", got, f.now)
	}
	if clock.Or(nil) != clock.System {
		t.Fatal("Or(nil) is not the system clock")
	}
}

func TestSystemAfter(t *testing.T) {
	before := clock.System.Now()
	at := <-clock.System.After(time.Millisecond)
	if at.Before(before) {
		t.Fatalf("After fired at %v, before it was asked at %v", at, before)
	}
}
