package pluginhost

import "time"

// An Observer is told about every plug-in call and restart (the
// gateway's metrics). Its methods must be cheap and safe for concurrent
// use; Host.Observer, nil for none.
type Observer interface {
	// PluginCall: one call (method, e.g. "Authenticate") to the plug-in
	// serving app took d and failed with err (nil: it succeeded).
	PluginCall(plugin, app, method string, d time.Duration, err error)
	// PluginRestart: the plug-in's process was replaced after a crash or
	// a hang.
	PluginRestart(plugin, app string)
}

// observe reports a call that began at start and ended with *err.
func (in *instance) observe(method string, start time.Time, err *error) {
	if o := in.host.Observer; o != nil {
		o.PluginCall(in.entry.Name, in.use.App, method, time.Since(start), *err)
	}
}

// restarted reports a replaced process.
func (in *instance) restarted() {
	if o := in.host.Observer; o != nil {
		o.PluginRestart(in.entry.Name, in.use.App)
	}
}
