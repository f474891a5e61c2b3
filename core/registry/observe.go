package registry

// OnAttach sets f to be called each time a session of a connector
// attaches (the gateway's metrics count tunnel sessions, and so
// reconnects, per connector). f runs under the registry's lock: it must
// be quick and must not call the registry. Set it before any Attach.
func (r *Registry) OnAttach(f func(id, group string)) { r.onAttach = f }

func (r *Registry) attached(id, group string) {
	if r.onAttach != nil {
		r.onAttach(id, group)
	}
}
