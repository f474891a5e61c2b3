package pluginhost

import (
	"context"
	"time"
)

// probe checks that p still answers, unless a check of p is under way: a
// process that does not answer within ProbeTimeout (stopped, frozen) is
// handed to the supervisor, which kills it and starts another, once
// however many calls waited on it. A process that has exited, is being
// replaced or belongs to a closed instance is left alone.
func (in *instance) probe(p *proc) {
	if !p.probing.CompareAndSwap(false, true) {
		return
	}
	defer p.probing.Store(false)
	ctx, cancel := context.WithTimeout(context.Background(), in.host.ProbeTimeout)
	defer cancel()
	start := time.Now()
	err := p.rpc.ping(ctx)
	if err == nil {
		in.log.Debug("plug-in is slow but answered a health check", "pid", p.pid, "took", time.Since(start).String())
		return
	}
	if s := in.cur.Load(); s == nil || s.p != p {
		return // replaced or closed meanwhile
	}
	select {
	case <-p.exited():
		return
	case <-p.broken:
		return
	default:
	}
	in.log.Warn("plug-in process did not answer a health check; restarting it",
		"pid", p.pid, "timeout", in.host.ProbeTimeout.String(), "error", err)
	p.markBroken()
}
