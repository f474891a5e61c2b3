package connector

import (
	"context"
	"net/http"
	"sync"

	"github.com/gatehouse/gatehouse/internal/fastpath/leanclient"
)

// The lean client (internal/fastpath/leanclient, fastpath.LeanClient)
// carries bodyless GET, HEAD and OPTIONS requests to plain-http backends
// from the calling goroutine; everything else, and everything when that
// fast path is off, goes through the app's http.Transport (apps.go). The
// connector sets its limits, the same as the Transport's, and its abort
// hook: the stream's backendAbort.

// newLean returns the lean client of a plain-http backend at addr
// (host:port), with rt's dialer and limits.
func newLean(addr string, rt *http.Transport) *leanclient.Client {
	return leanclient.New(leanclient.Config{
		Addr:        addr,
		Dial:        rt.DialContext,
		Timeout:     rt.ResponseHeaderTimeout,
		MaxRespHead: maxRespHead,
		OnAbort:     onAbort,
	})
}

// backendAbort ends the backend call under way on a stream when the
// stream's context is cancelled: serveStream fires it, so that the lean
// client needs no context.AfterFunc per request.
type backendAbort struct {
	mu    sync.Mutex
	f     func()
	fired bool
}

type backendAbortKey struct{}

func (a *backendAbort) fire() {
	a.mu.Lock()
	f := a.f
	a.f, a.fired = nil, true
	a.mu.Unlock()
	if f != nil {
		f()
	}
}

// onAbort arranges for f to run if ctx is cancelled, like
// context.AfterFunc, and returns the func that cancels that: it reports
// false if f already ran (or is running). It is the lean client's
// Config.OnAbort.
func onAbort(ctx context.Context, f func()) (stop func() bool) {
	a, ok := ctx.Value(backendAbortKey{}).(*backendAbort)
	if !ok {
		return context.AfterFunc(ctx, f)
	}
	a.mu.Lock()
	if a.fired {
		a.mu.Unlock()
		f()
		return func() bool { return false }
	}
	a.f = f
	a.mu.Unlock()
	return a.stop
}

func (a *backendAbort) stop() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	ran := a.fired
	a.f = nil
	return !ran
}
