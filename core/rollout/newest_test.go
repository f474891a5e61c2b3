package rollout

import (
	"testing"

	"github.com/gatehouse/gatehouse/core/releases"
	"github.com/gatehouse/gatehouse/release"
)

// A release that needs a newer gateway is passed over for the newest one
// this gateway works with; a development gateway takes the newest.
func TestNewestRespectsMinGateway(t *testing.T) {
	list := []releases.Entry{ // newest first, as releases.List returns them
		{Manifest: release.Manifest{Version: "v3.0.0", OS: "linux", Arch: "amd64", MinGateway: "v3.0.0"}},
		{Manifest: release.Manifest{Version: "v2.0.0", OS: "linux", Arch: "amd64", MinGateway: "v1.0.0"}},
		{Manifest: release.Manifest{Version: "v2.5.0", OS: "linux", Arch: "arm64"}},
	}
	for _, c := range []struct{ gw, want string }{
		{"v2.1.0", "v2.0.0"},
		{"v3.0.0", "v3.0.0"},
		{"v0.9.0", ""},
		{"(devel)", "v3.0.0"},
	} {
		if got := newest(list, "linux", "amd64", c.gw); got != c.want {
			t.Errorf("gateway %s: newest = %q, want %q", c.gw, got, c.want)
		}
	}
}
