package connector

import (
	"context"
	"time"

	"github.com/gatehouse/gatehouse/tunnel"
	"github.com/hashicorp/yamux"
)

// drainCheck is how often a draining session counts its open streams
// besides when one of its request streams ends: a stream leaves the
// session's count only once both ends have closed it.
const drainCheck = 100 * time.Millisecond

// drain stops the session in order: it asks the gateway to open no more
// request streams, keeps serving every stream that arrives until the
// gateway answers (the answer comes after the last stream the gateway
// will ever open, on the same connection), and then waits for the open
// streams to end. It returns early when ctx is done (the drain timeout,
// or a second signal) or the session breaks; the caller then closes it.
func (s *session) drain(ctx context.Context, mux *yamux.Session, send func(tunnel.Message) error) {
	if err := send(tunnel.Message{Type: tunnel.MsgDrain}); err != nil {
		s.log.Warn("draining: could not ask the gateway to stop sending requests", "error", err)
		return
	}
	s.log.Info("draining: asked the gateway to send no new requests")
	select {
	case <-s.drained:
	case <-ctx.Done():
		return
	case <-mux.CloseChan():
		return
	}
	// Every stream the gateway opened is now known to yamux, accepted
	// or not: the control stream is the one left once they all end.
	s.log.Info("drain acknowledged: the gateway sends no new requests on this session",
		"in_flight", mux.NumStreams()-1)
	t := time.NewTicker(drainCheck)
	defer t.Stop()
	for mux.NumStreams() > 1 {
		select {
		case <-s.ended:
		case <-t.C:
		case <-ctx.Done():
			return
		case <-mux.CloseChan():
			return
		}
	}
	s.log.Info("session drained: its requests are finished")
}
