package pluginhosttest_test

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/pluginhost"
	"github.com/gatehouse/gatehouse/pluginhost/pluginhosttest"
	"github.com/gatehouse/gatehouse/sdk"
)

// A plug-in built from another directory starts over the real protocol,
// pinned by its checksum; a refused config is Open's *ConfigError.
func TestBuildAndOpen(t *testing.T) {
	e, remove, err := pluginhosttest.Build("broken", "../../conformance/testdata", "./broken")
	if err != nil {
		t.Fatal(err)
	}
	defer remove()
	b, err := os.ReadFile(e.Path)
	if err != nil {
		t.Fatal(err)
	}
	if sum := sha256.Sum256(b); e.Name != "broken" || e.SHA256 != hex.EncodeToString(sum[:]) {
		t.Fatalf("entry %+v does not pin the binary's SHA-256", e)
	}
	inj := pluginhosttest.MustInjector(t, pluginhost.Host{}, e, pluginhost.Use{App: "hr", Config: map[string]any{"mode": "ok"}})
	if _, err := inj.Inject(t.Context(), sdk.InjectRequest{Identity: sdk.Identity{Subject: "alice"}, Header: http.Header{}}); err != nil {
		t.Fatal(err)
	}
	_, err = pluginhosttest.Injector(t, pluginhost.Host{}, e, pluginhost.Use{App: "hr", Config: map[string]any{"mode": "ok", "extra": 1}})
	if ce := (*pluginhost.ConfigError)(nil); !errors.As(err, &ce) || !strings.Contains(err.Error(), "extra") {
		t.Fatalf("got %v, want a config error naming the key", err)
	}
	remove()
	if _, err := os.Stat(e.Path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("remove left %s: %v", e.Path, err)
	}
}

// A package that does not build is an error that says which and why.
func TestBuildError(t *testing.T) {
	_, _, err := pluginhosttest.Build("nothing", "", "./no-such-package")
	if err == nil || !strings.Contains(err.Error(), "building plug-in nothing (./no-such-package") {
		t.Fatalf("got %v", err)
	}
}
