package connector

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/gatehouse/gatehouse/internal/backoff"
)

// stableFor is how long a session must stay up for the next reconnect to
// start again from the shortest delay.
const stableFor = 30 * time.Second

// defaultDrainTimeout bounds a drain when Options.DrainTimeout is unset.
const defaultDrainTimeout = 30 * time.Second

// Run keeps the sessions up until ctx is done (they close at once), the
// gateway says this connector is gone for good (then the error says what
// to do), or Drain was called and the drain is over. A drain that runs
// out of time cuts the requests still in flight and returns an error.
func (c *Connector) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	p := newPool(ctx, cancel, c) // pool.go
	c.pool.Store(p)
	finished := make(chan struct{})
	go func() { p.run(); close(finished) }()
	c.awaitDrain(ctx, cancel, finished)
	<-finished
	c.transports.closeAll()
	if err := context.Cause(ctx); err != nil && !errors.Is(err, context.Canceled) && !errors.Is(err, ErrTrialPassed) {
		return err
	}
	c.log.Info("connector stopped")
	return nil
}

// Drain starts an orderly stop: every session asks its gateway to send no
// new requests, finishes the ones in flight, and closes; Run then
// returns. Options.DrainTimeout bounds it. Calling Drain again, or before
// Run, is harmless.
func (c *Connector) Drain() { c.drainOnce.Do(func() { close(c.draining) }) }

func (c *Connector) isDraining() bool {
	select {
	case <-c.draining:
		return true
	default:
		return false
	}
}

// awaitDrain returns when the sessions are finished or ctx is done; once
// a drain starts, it gives the sessions DrainTimeout, then cancels ctx.
func (c *Connector) awaitDrain(ctx context.Context, cancel context.CancelCauseFunc, finished <-chan struct{}) {
	select {
	case <-finished:
		return
	case <-ctx.Done():
		return
	case <-c.draining:
	}
	d := c.opts.DrainTimeout
	c.log.Info("draining: no new requests; finishing those in flight, then stopping",
		"in_flight", c.inflight.Load(), "timeout", d.String())
	select {
	case <-finished:
		c.log.Info("drained: every request in flight finished")
	case <-ctx.Done():
	case <-c.opts.Clock.After(d):
		n := c.inflight.Load()
		c.log.Warn("drain timeout passed; stopping with requests still in flight", "in_flight", n, "timeout", d.String())
		cancel(fmt.Errorf("the drain timeout (%s, --drain-timeout) passed with %d request streams still open: they were cut", d, n))
	}
}

// supervise keeps session n to sup.addr up, reconnecting after a failure
// with backoff.Reconnect, until ctx is done, the connector drains, the
// node leaves the list (sup.stop: the session drains) or, once the node
// drains (sup.noRedial), the session ends.
func (c *Connector) supervise(ctx context.Context, p *pool, sup *supervisor, n int) error {
	log := c.log.With("gateway", sup.addr, "session", n)
	b := backoff.Backoff{Policy: backoff.Reconnect}
	for ctx.Err() == nil && !c.isDraining() && !sup.stopped() && !sup.noRedial.Load() {
		s := &session{c: c, addr: sup.addr, n: n, log: log, stop: sup.stop}
		start := c.opts.Clock.Now()
		live := &liveMark{p: p, addr: sup.addr}
		err := s.run(ctx, func() { log.Info("tunnel ready"); live.setUp() })
		live.end()
		if ctx.Err() != nil || c.isDraining() || sup.stopped() {
			return nil
		}
		if errors.Is(err, ErrTrialPassed) {
			log.Info("trial passed: the gateway probed this release; stopping")
			return err
		}
		var fatal *fatalError
		if errors.As(err, &fatal) {
			log.Error("connector stopped", "error", err)
			return err
		}
		if sup.noRedial.Load() {
			log.Info("tunnel to a draining gateway node closed; not reconnecting", "error", err)
			return nil
		}
		if c.opts.Clock.Now().Sub(start) > stableFor {
			b.Reset()
		}
		wait := b.Next()
		log.Warn("tunnel down; reconnecting", "error", err, "retry_in", wait.Round(time.Millisecond).String())
		select {
		case <-ctx.Done():
		case <-c.draining:
		case <-sup.stop:
		case <-c.opts.Clock.After(wait):
		}
	}
	return nil
}
