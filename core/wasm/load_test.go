package wasm

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A module that cannot serve is refused at Load, with an error that says
// why; nothing reaches the request path.
func TestLoadRefuses(t *testing.T) {
	h := newHarness(t)
	edge := watFile(t, "edge")
	garbage := filepath.Join(t.TempDir(), "garbage.wasm")
	if err := os.WriteFile(garbage, []byte("not wasm"), 0o600); err != nil {
		t.Fatal(err)
	}
	const exports = `(memory (export "memory") 1)
		(func (export "handle_request") (result i64) (i64.const 1))
		(func (export "handle_response") (param i32 i32))`
	wat := func(name, body string) string { return watGuest(t, name, "(module "+body+")") }
	for _, tc := range []struct {
		name string
		spec Spec
		want string
	}{
		{"sha256 mismatch", Spec{Path: edge, SHA256: strings.Repeat("0", 64)}, "but the catalog pins 0000"},
		{"sha256 missing", Spec{Path: edge}, "sha256: is required"},
		{"sha256 malformed", Spec{Path: edge, SHA256: "ABC"}, `sha256: "ABC" is not 64 lower-case hex digits`},
		{"bad limits", Spec{Path: edge, SHA256: fileSHA256(t, edge), PoolSize: -1, MemoryPages: 70000},
			"pool_size: -1 is negative\nmemory_pages: 70000 is over"},
		{"no file", Spec{Path: "/nonexistent.wasm", SHA256: strings.Repeat("0", 64)}, "reading the module"},
		{"not wasm", Spec{Path: garbage, SHA256: fileSHA256(t, garbage)}, "compiling"},
		{"no handle_response", Spec{Path: wat("no-response", `(memory (export "memory") 1)
			(func (export "handle_request") (result i64) (i64.const 1))`)}, "it does not export handle_response"},
		{"no memory", Spec{Path: wat("no-memory", `(func (export "handle_request") (result i64) (i64.const 1))
			(func (export "handle_response") (param i32 i32))`)}, `it exports no memory named "memory"`},
		{"wrong export signature", Spec{Path: wat("bad-export", `(memory (export "memory") 1)
			(func (export "handle_request") (result i32) (i32.const 1))
			(func (export "handle_response") (param i32 i32))`)}, "its handle_request is () -> (i32), want () -> (i64)"},
		{"foreign import", Spec{Path: wat("foreign-import", `(import "env" "socket" (func)) `+exports)},
			"it imports env.socket: only http_handler and wasi_snapshot_preview1 are available"},
		{"unknown host function", Spec{Path: wat("unknown-import", `(import "http_handler" "open_file" (func)) `+exports)},
			"it imports http_handler.open_file, which the ABI does not define"},
		{"wrong import signature", Spec{Path: wat("bad-import", `(import "http_handler" "get_uri" (func (param i32) (result i32))) `+exports)},
			"it imports http_handler.get_uri as (i32) -> (i32), the ABI defines (i32, i32) -> (i32)"},
		{"start function traps", Spec{Path: wat("init-trap", `(func (export "_initialize") unreachable) `+exports)},
			"running _initialize"},
		{"command that exits", Spec{Path: wat("command-exits", `(import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
			(func (export "_start") (call $exit (i32.const 0))) `+exports)},
			"the guest exited in _start: a Go filter must be built with -buildmode=c-shared"},
		{"Go guest refusing its config", Spec{Path: goGuest(t, "./testdata/sdkguest"), Config: []byte(`{"greting": "typo"}`)},
			`panic: filter config: json: unknown field "greting"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := tc.spec
			s.Name = "bad"
			if s.SHA256 == "" && !strings.HasPrefix(tc.name, "sha256") {
				s.SHA256 = fileSHA256(t, s.Path)
			}
			f, err := h.rt.Load(context.Background(), s)
			if err == nil {
				_ = f.Close(context.Background())
				t.Fatal("Load succeeded")
			}
			if !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), `wasm filter "bad"`) {
				t.Errorf("error %q\nwant it to name the filter and contain %q", err, tc.want)
			}
		})
	}
}
