// Package clock is the time source that the gateway's registry, the
// connector and the plug-in host share, so that tests can inject a fake
// one and expiry and backoff logic can be tested without waiting.
//
// Clock only tells the time; Waiter can also wait. Deadlines on sockets
// and contexts stay on real time: they are enforced by the kernel and the
// runtime, which know nothing of an injected clock.
package clock

import "time"

// Clock tells the time.
type Clock interface {
	Now() time.Time
}

// Waiter is a Clock that can also wait.
type Waiter interface {
	Clock
	// After sends the time on the returned channel once d has passed.
	After(d time.Duration) <-chan time.Time
}

// System is the real clock.
var System Waiter = system{}

type system struct{}

func (system) Now() time.Time                         { return time.Now() }
func (system) After(d time.Duration) <-chan time.Time { return time.After(d) }

// Or returns c, or System when c is nil.
func Or(c Waiter) Waiter {
	if c == nil {
		return System
	}
	return c
}
