package config

import (
	"strings"
	"testing"
)

// Two nodes' files that differ only in what each node sets for itself
// get the same SHA256; a different app gives another.
func TestSharedSum(t *testing.T) {
	node := func(id, port, extra string) string {
		return `listen:
  public: 127.0.0.1:` + port + `
  tunnel: 127.0.0.1:1` + port + `
tunnel:
  advertise: ["127.0.0.1:1` + port + `"]
cluster:
  node_id: ` + id + `
shutdown:
  drain_delay: 2s
connector_groups:
  - name: default
apps:
  - name: demo
    host: demo.example.com
    group: default
    backend:
      url: http://10.0.0.5:8080
    auth: passthrough
` + extra
	}
	load := func(text string) string {
		t.Helper()
		c, err := Parse("", []byte(text))
		if err != nil {
			t.Fatal(err)
		}
		if len(c.SHA256) != 64 {
			t.Fatalf("SHA256 = %q", c.SHA256)
		}
		return c.SHA256
	}
	a, b := load(node("gw-a", "8443", "")), load(node("gw-b", "9443", "# a comment\n"))
	if a != b {
		t.Errorf("two nodes of one cluster get different sums: %s and %s", a, b)
	}
	other := load(node("gw-a", "8443", "  - name: two\n    host: two.example.com\n    group: default\n    backend:\n      url: http://10.0.0.6:8080\n    auth: passthrough\n"))
	if other == a || strings.HasPrefix(other, "unknown") {
		t.Errorf("a config with another app gets the sum %s (first: %s)", other, a)
	}
}
