package registry

import (
	"slices"
	"time"

	"github.com/gatehouse/gatehouse/tunnel"
	"github.com/hashicorp/yamux"
)

// What the admin API, the console and the metrics show of each attached
// connector besides its state: the tunnel's round-trip time, which the
// tunnel server measures on each session at heartbeat pace (SetRTT), and
// the sign-on report of its latest ready (SignOnReports). Neither is on
// the request path.

// SetRTT records d, a round trip just measured on session s (a yamux
// ping). A session that is not attached (it ended meanwhile) is ignored.
func (r *Registry) SetRTT(s *yamux.Session, d time.Duration) {
	if d <= 0 {
		d = time.Nanosecond // measured, if too quick for the clock
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if ts := r.sessions[s]; ts != nil {
		r.rttSeq++
		ts.rtt, ts.rttSeq = d, r.rttSeq
	}
}

// rtt is the latest round trip measured on one of c's sessions (0: none
// yet); the caller holds Registry.mu.
func (c *connector) rtt() time.Duration {
	var d time.Duration
	var seq uint64
	for _, s := range c.sessions {
		if s.rttSeq > seq {
			d, seq = s.rtt, s.rttSeq
		}
	}
	return d
}

// SignOnReports returns, by connector id, a copy of the sign-on report
// of each attached connector's latest ready (from the session that
// answered the newest config). A connector that reports none (a version
// older than reports) is absent.
func (r *Registry) SignOnReports() map[string]tunnel.SignOnReport {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make(map[string]tunnel.SignOnReport, len(r.byID))
	for id, c := range r.byID {
		var latest *session
		for _, s := range c.sessions {
			if s.signOn != nil && (latest == nil || s.version >= latest.version) {
				latest = s
			}
		}
		if latest != nil {
			out[id] = copyReport(latest.signOn)
		}
	}
	return out
}

func copyReport(rep *tunnel.SignOnReport) tunnel.SignOnReport {
	return tunnel.SignOnReport{Plugins: slices.Clone(rep.Plugins), Accepted: slices.Clone(rep.Accepted), Refused: slices.Clone(rep.Refused)}
}
