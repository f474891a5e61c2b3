package registry

// OnStateChange sets f to be told when a connector comes online (its
// first session attaches), becomes active again (a heartbeat after it was
// marked inactive) or goes offline (its last session detached): the
// gateway logs these at WARN. (Going inactive is Sweep's answer.) f runs
// under the registry's lock: it must be quick and must not call the
// registry. Set it before any Attach.
func (r *Registry) OnStateChange(f func(id, group, state string)) { r.onState = f }

// Connector states OnStateChange reports.
const (
	StateOnline  = "online"
	StateActive  = "active"
	StateOffline = "offline"
)

func (r *Registry) changed(c *connector, state string) {
	if r.onState != nil {
		r.onState(c.id, c.group, state)
	}
}
