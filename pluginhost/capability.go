package pluginhost

import (
	"errors"
	"slices"

	"github.com/gatehouse/gatehouse/sdk"
)

// ErrUndeclared: the plug-in answered with a field of an optional part of
// the protocol (an sdk.Capability) that it did not declare.
var ErrUndeclared = errors.New("plug-in used a capability it did not declare")

// capabilities are the optional parts of the protocol the running process
// declared in its answer to Configure (sdk.Plugin.Capabilities); nil while
// no process runs. A restarted process declares them again; a pinned
// binary declares the same ones every time.
func (in *instance) capabilities() []sdk.Capability {
	if s := in.cur.Load(); s != nil && s.p != nil {
		return s.p.caps
	}
	return nil
}

// declared reports whether the running process declared c.
func (in *instance) declared(c sdk.Capability) bool {
	return slices.Contains(in.capabilities(), c)
}
