package wasm

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"testing"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
)

// memoryModule is the smallest guest: one 64 KiB page of memory, exported
// as "memory", no code. The fuzz target calls the host functions with it
// as the calling module, as wazero would.
var memoryModule = []byte{
	0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // \0asm, version 1
	0x05, 0x04, 0x01, 0x01, 0x01, 0x01, // memory section: one memory, min 1 max 1 page
	0x07, 0x0a, 0x01, 0x06, 'm', 'e', 'm', 'o', 'r', 'y', 0x02, 0x00, // export "memory"
}

// outputs says which parameters of a host function are the buffer it may
// write to and that buffer's limit; the others write nothing.
var outputs = map[string][2]int{
	"get_config": {0, 1}, "get_header_names": {1, 2}, "get_header_values": {3, 4}, "read_body": {1, 2},
	"get_method": {0, 1}, "get_uri": {0, 1}, "get_protocol_version": {0, 1}, "get_source_addr": {0, 1},
}

// FuzzHostFunctions calls the http_handler host functions directly with
// guest-chosen offsets, lengths and values, the way a hostile guest
// would, on a one-page memory the fuzzer fills. ops is a sequence of
// calls: one byte picks the function, then five little-endian uint32
// parameters (missing bytes are 0). phase picks where the calls happen
// (start function, handle_request, handle_response with or without a
// buffered response) and the features enabled. A host function may only
// trap with an ABI violation or a client error, never panic otherwise;
// and it may only write inside the buffer [buf, buf+buf_limit) it was
// given.
func FuzzHostFunctions(f *testing.F) {
	ctx := context.Background()
	rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfigInterpreter())
	f.Cleanup(func() { _ = rt.Close(ctx) })
	mod, err := rt.Instantiate(ctx, memoryModule)
	if err != nil {
		f.Fatal(err)
	}
	mem := mod.Memory()
	zero := make([]byte, mem.Size())
	logger := slog.New(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelDebug}))
	f.Fuzz(func(t *testing.T, memory, ops []byte, phase byte, body []byte) {
		mem.Write(0, zero)
		mem.Write(0, memory[:min(len(memory), len(zero))])
		in := fuzzInstance(mod, logger, phase, body)
		callCtx := context.WithValue(ctx, instanceKey{}, in)
		before := make([]byte, len(zero))
		for len(ops) > 0 {
			h := hostFuncs[int(ops[0])%len(hostFuncs)]
			var params [5]uint64
			for i := range params {
				var p [4]byte
				copy(p[:], ops[min(len(ops), 1+4*i):])
				params[i] = uint64(binary.LittleEndian.Uint32(p[:]))
			}
			ops = ops[min(len(ops), 21):]
			m, _ := mem.Read(0, mem.Size())
			copy(before, m)
			stack := params
			trapped, err := callHost(callCtx, h, mod, stack[:])
			if err != nil {
				t.Fatal(err)
			}
			if err := checkWrites(h.name, params, before, m); err != nil {
				t.Fatal(err)
			}
			if trapped {
				return // the instance is dead: wazero would discard it
			}
		}
	})
}

// fuzzInstance is an instance of memoryModule in the phase the fuzzer
// picked, set up as handler.serve sets it up.
func fuzzInstance(mod api.Module, logger *slog.Logger, phase byte, body []byte) *instance {
	in := &instance{f: &Filter{spec: Spec{Name: "fuzz", Config: []byte(`{"fuzz":true}`), MaxBodyBytes: 4096}, logger: logger},
		mod: mod, mem: mod.Memory()}
	if phase%4 == 0 {
		in.features = features(phase>>2) & supportedFeatures
		return in // the start function: no request
	}
	r := httptest.NewRequest("POST", "http://app.example/p/a?q=1", bytes.NewReader(body))
	r.Header.Set("X-A", "1")
	r.Header.Add("X-A", "2")
	r.RemoteAddr = "192.0.2.7:1234"
	w := httptest.NewRecorder()
	w.Header().Set("Server", "backend")
	in.ex.reset(w, r, "rid", features(phase>>2)&supportedFeatures, in.f.spec.MaxBodyBytes)
	if phase%4 == 1 {
		return in
	}
	ex := &in.ex
	buffer := phase%4 == 3
	if buffer {
		ex.features |= featureBufferResponse
	}
	rw := &responseWriter{ex: ex, w: w, buffer: buffer, limit: in.f.spec.MaxBodyBytes}
	if buffer {
		ex.saveHeader()
	}
	ex.rw = rw
	_, _ = rw.Write(body[:min(len(body), 4096)])
	ex.phase = phaseResponse
	return in
}

// callHost calls h and reports whether it trapped, or an error for a
// panic that is not a trap the ABI defines.
func callHost(ctx context.Context, h hostFunc, mod api.Module, stack []uint64) (trapped bool, err error) {
	params := fmt.Sprint(stack)
	defer func() {
		v := recover()
		if v == nil {
			return
		}
		trapped = true
		var ce *clientError
		if e, ok := v.(error); ok && (errors.Is(e, errViolation) || errors.As(e, &ce)) {
			return
		}
		err = fmt.Errorf("%s%s panicked with %v, not an ABI violation", h.name, params, v)
	}()
	h.fn(ctx, mod, stack)
	return false, nil
}

// checkWrites returns an error unless every byte that changed between
// before and after lies inside the output buffer of fn.
func checkWrites(fn string, params [5]uint64, before, after []byte) error {
	lo, hi := uint64(0), uint64(0)
	if o, ok := outputs[fn]; ok {
		lo = params[o[0]]
		hi = lo + params[o[1]]
	}
	for i := range before {
		if before[i] != after[i] && (uint64(i) < lo || uint64(i) >= hi) {
			return fmt.Errorf("%s%v wrote guest memory at %d, outside its buffer [%d, %d)", fn, params, i, lo, hi)
		}
	}
	return nil
}

// TestHostFunctionsFuzzHarness makes sure the fuzz target can fail: a
// host function that writes outside its buffer or panics is caught.
func TestHostFunctionsFuzzHarness(t *testing.T) {
	before := make([]byte, 16)
	after := bytes.Clone(before)
	after[9] = 1
	if checkWrites("get_method", [5]uint64{2, 4}, before, after) == nil {
		t.Error("a write at 9 outside [2, 6) was not reported")
	}
	if checkWrites("get_method", [5]uint64{8, 4}, before, after) != nil {
		t.Error("a write at 9 inside [8, 12) was reported")
	}
	boom := hostFunc{name: "boom", fn: func(context.Context, api.Module, []uint64) { panic("index out of range") }}
	if _, err := callHost(context.Background(), boom, nil, nil); err == nil {
		t.Error("a panic that is not an ABI violation was not reported")
	}
	trap := hostFunc{name: "trap", fn: func(context.Context, api.Module, []uint64) { violate("trap", "test") }}
	if trapped, err := callHost(context.Background(), trap, nil, nil); !trapped || err != nil {
		t.Errorf("an ABI violation: trapped %v, %v", trapped, err)
	}
}
