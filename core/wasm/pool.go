package wasm

import (
	"context"
	"fmt"
	"time"
)

// pool bounds a filter's instances: a token is the right to hold one, so
// at most size exist; idle ones wait in a channel for the next request.
// (A sync.Pool would drop instances at every GC and never bound them.)
type pool struct {
	f      *Filter
	tokens chan struct{}
	idle   chan *instance
}

func newPool(f *Filter, size int) *pool {
	p := &pool{f: f, tokens: make(chan struct{}, size), idle: make(chan *instance, size)}
	for range size {
		p.tokens <- struct{}{}
	}
	return p
}

// prime adds the instance Load started.
func (p *pool) prime(in *instance) {
	<-p.tokens
	p.put(in, !p.f.spec.FreshPerRequest)
}

// get takes a token, waiting up to wait, then an idle instance or a new one.
func (p *pool) get(ctx context.Context, wait time.Duration) (*instance, error) {
	select {
	case <-p.tokens:
	default:
		t := time.NewTimer(wait)
		select {
		case <-p.tokens:
			t.Stop()
		case <-t.C:
			return nil, errBusy
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		}
	}
	select {
	case in := <-p.idle:
		return in, nil
	default:
	}
	// The instance outlives this request: a client going away must not
	// fail its start.
	in, err := p.f.newInstance(context.WithoutCancel(ctx))
	if err != nil {
		p.tokens <- struct{}{}
		return nil, fmt.Errorf("starting an instance: %w", err)
	}
	return in, nil
}

// put returns in to the idle set, or closes it, and gives its token back.
func (p *pool) put(in *instance, keep bool) {
	if keep {
		p.idle <- in // never blocks: idle instances hold no token
	} else {
		in.close()
	}
	p.tokens <- struct{}{}
	if keep && p.f.isClosing() {
		p.drainIdle() // Close may have drained before this put
	}
}

// drainIdle closes the idle instances.
func (p *pool) drainIdle() {
	for {
		select {
		case in := <-p.idle:
			in.close()
		default:
			return
		}
	}
}

func (p *pool) close() { p.drainIdle() }
