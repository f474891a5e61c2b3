package wasm

import "time"

// A FilterObserver is told about every guest call of one filter
// (handle_request, handle_response): how long it took and whether it
// trapped or ran out of time (the gateway's metrics). Spec.Observer, nil
// for none. It runs on the request path: it must be cheap and safe for
// concurrent use.
type FilterObserver interface {
	GuestCall(d time.Duration, trapped bool)
}

// observe reports a guest call that began at start and ended with err.
func (in *instance) observe(start time.Time, err error) {
	if o := in.f.spec.Observer; o != nil {
		o.GuestCall(time.Since(start), err != nil)
	}
}
