package vault

import (
	"testing"

	"github.com/gatehouse/gatehouse/conformance"
)

// The kit's calls carry no sealed credentials, so each is answered with
// AskCredentials, quickly and without touching a backend: in form mode the
// login_url is never contacted (nothing listens there).
func TestConformance(t *testing.T) {
	k := newKey(t)
	t.Run("basic", func(t *testing.T) {
		conformance.RunInjector(t, bin, map[string]any{"mode": "basic", "key_file": k.file})
	})
	t.Run("form", func(t *testing.T) {
		conformance.RunInjector(t, bin, map[string]any{"mode": "form", "key_file": k.file,
			"form": map[string]any{"login_url": "http://127.0.0.1:1/login"}})
	})
}
