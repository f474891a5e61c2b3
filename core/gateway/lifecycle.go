package gateway

import (
	"context"
	"errors"
	"time"
)

// closeWait bounds how long Close waits for requests still inside a WASM
// filter before it stops them.
const closeWait = 10 * time.Second

// Close releases everything the gateway holds: its listeners, ACME
// maintenance, the Authenticator plug-ins, the WASM filters and the WASM
// runtime. The store is the caller's. Close is safe after a New or Listen
// that failed part-way (New calls it itself), after Serve (which calls
// it as it returns), and more than once; later Applies are refused.
func (g *Gateway) Close() error {
	g.closeOnce.Do(func() {
		g.applyMu.Lock()
		g.closed = true
		g.applyMu.Unlock()
		g.stop()
		g.retiring.Wait()
		g.closeErr = g.release()
	})
	return g.closeErr
}

// release frees what the gateway got, in the reverse order of New.
func (g *Gateway) release() error {
	g.closeListeners()
	if g.acme != nil {
		g.acme.Stop()
	}
	var errs []error
	if s := g.snap.Load(); s != nil {
		s.auths.closeAll()
		ctx, cancel := context.WithTimeout(context.Background(), closeWait)
		errs = append(errs, s.chains.closeAll(ctx))
		cancel()
	}
	if g.wasm != nil {
		errs = append(errs, g.wasm.Close(context.Background()))
	}
	return errors.Join(errs...)
}

// retire runs closeFn on what a reload replaced once grace has passed (so
// that calls in flight on the old snapshot can finish), or at once when
// the gateway closes; Close waits for it. closeFn's context ends after
// retireWait, or when the gateway closes (Serve has drained the requests
// by then).
func (g *Gateway) retire(grace time.Duration, closeFn func(ctx context.Context)) {
	g.retiring.Add(1)
	go func() {
		defer g.retiring.Done()
		t := time.NewTimer(grace)
		defer t.Stop()
		select {
		case <-t.C:
		case <-g.stopping.Done():
		}
		ctx, cancel := context.WithTimeout(g.stopping, retireWait)
		defer cancel()
		closeFn(ctx)
	}()
}

// retireWait bounds how long a replaced WASM filter may take to drain.
const retireWait = 5 * time.Minute
