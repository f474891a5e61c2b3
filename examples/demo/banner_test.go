//go:build unix

package main

import (
	"os/exec"
	"testing"
)

// TestShellQuote checks that quoted strings reach a real shell unchanged.
func TestShellQuote(t *testing.T) {
	for _, s := range []string{
		"/work/main/.run/demo/data/dev-tls/dev-ca.pem",
		"/tmp/run dir/dev-ca.pem",
		"/home/o'neil/x",
		"$HOME;`id`*",
	} {
		out, err := exec.Command("sh", "-c", "printf %s "+shellQuote(s)).Output()
		if err != nil {
			t.Fatalf("sh: %v", err)
		}
		if string(out) != s {
			t.Errorf("shellQuote(%q) = %s; the shell made it %q", s, shellQuote(s), out)
		}
	}
}
