package wasm

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
)

// The names of the ABI's modules and guest exports.
const (
	hostModule        = "http_handler"
	wasiModule        = "wasi_snapshot_preview1"
	exportRequest     = "handle_request"
	exportResponse    = "handle_response"
	exportMemory      = "memory"
	wasmPageSizeBytes = 65536
)

// features is the ABI's feature bit set (enable_features).
type features uint32

const (
	featureBufferRequest  features = 1
	featureBufferResponse features = 2
	featureTrailers       features = 4 // never enabled: this host has no trailers

	supportedFeatures = featureBufferRequest | featureBufferResponse
)

// Header kinds (header_kind) and body kinds (body_kind).
const (
	kindRequest          = 0
	kindResponse         = 1
	kindRequestTrailers  = 2
	kindResponseTrailers = 3
)

// Log levels (log_level).
const (
	levelDebug = -1
	levelInfo  = 0
	levelWarn  = 1
	levelError = 2
	levelNone  = 3
)

const (
	i32 = api.ValueTypeI32
	i64 = api.ValueTypeI64
)

// hostFunc is one function of the http_handler module.
type hostFunc struct {
	name            string
	params, results []api.ValueType
	fn              api.GoModuleFunc
}

// hostFuncs are the ABI's 19 host functions, in the specification's order.
var hostFuncs = []hostFunc{
	{"enable_features", []api.ValueType{i32}, []api.ValueType{i32}, enableFeatures},
	{"get_config", []api.ValueType{i32, i32}, []api.ValueType{i32}, getConfig},
	{"log", []api.ValueType{i32, i32, i32}, nil, logMessage},
	{"log_enabled", []api.ValueType{i32}, []api.ValueType{i32}, logEnabled},
	{"get_header_names", []api.ValueType{i32, i32, i32}, []api.ValueType{i64}, getHeaderNames},
	{"get_header_values", []api.ValueType{i32, i32, i32, i32, i32}, []api.ValueType{i64}, getHeaderValues},
	{"set_header_value", []api.ValueType{i32, i32, i32, i32, i32}, nil, setHeaderValue},
	{"add_header_value", []api.ValueType{i32, i32, i32, i32, i32}, nil, addHeaderValue},
	{"remove_header", []api.ValueType{i32, i32, i32}, nil, removeHeader},
	{"read_body", []api.ValueType{i32, i32, i32}, []api.ValueType{i64}, readBody},
	{"write_body", []api.ValueType{i32, i32, i32}, nil, writeBody},
	{"get_method", []api.ValueType{i32, i32}, []api.ValueType{i32}, getMethod},
	{"set_method", []api.ValueType{i32, i32}, nil, setMethod},
	{"get_uri", []api.ValueType{i32, i32}, []api.ValueType{i32}, getURI},
	{"set_uri", []api.ValueType{i32, i32}, nil, setURI},
	{"get_protocol_version", []api.ValueType{i32, i32}, []api.ValueType{i32}, getProtocolVersion},
	{"get_source_addr", []api.ValueType{i32, i32}, []api.ValueType{i32}, getSourceAddr},
	{"get_status_code", nil, []api.ValueType{i32}, getStatusCode},
	{"set_status_code", []api.ValueType{i32}, nil, setStatusCode},
}

// instantiateHostModule adds the http_handler module to rt.
func instantiateHostModule(ctx context.Context, rt wazero.Runtime) error {
	b := rt.NewHostModuleBuilder(hostModule)
	for _, h := range hostFuncs {
		b.NewFunctionBuilder().WithGoModuleFunction(h.fn, h.params, h.results).WithName(h.name).Export(h.name)
	}
	_, err := b.Instantiate(ctx)
	return err
}

// checkInterface refuses a module that does not export the ABI's memory and
// functions with the right signatures, or that imports anything but the
// ABI's host functions and WASI (so no files and no sockets beyond what
// WASI without preopens offers: nothing).
func checkInterface(m wazero.CompiledModule) error {
	var problems []string
	if m.ExportedMemories()[exportMemory] == nil {
		problems = append(problems, `it exports no memory named "memory"`)
	}
	exports := m.ExportedFunctions()
	want := []struct {
		name            string
		params, results []api.ValueType
	}{
		{exportRequest, nil, []api.ValueType{i64}},
		{exportResponse, []api.ValueType{i32, i32}, nil},
	}
	for _, w := range want {
		d := exports[w.name]
		switch {
		case d == nil:
			problems = append(problems, fmt.Sprintf("it does not export %s", w.name))
		case !slices.Equal(d.ParamTypes(), w.params) || !slices.Equal(d.ResultTypes(), w.results):
			problems = append(problems, fmt.Sprintf("its %s is %s, want %s", w.name,
				signature(d.ParamTypes(), d.ResultTypes()), signature(w.params, w.results)))
		}
	}
	for _, d := range m.ImportedFunctions() {
		mod, name, _ := d.Import()
		switch mod {
		case wasiModule:
		case hostModule:
			i := slices.IndexFunc(hostFuncs, func(h hostFunc) bool { return h.name == name })
			if i < 0 {
				problems = append(problems, fmt.Sprintf("it imports %s.%s, which the ABI does not define", mod, name))
			} else if h := hostFuncs[i]; !slices.Equal(d.ParamTypes(), h.params) || !slices.Equal(d.ResultTypes(), h.results) {
				problems = append(problems, fmt.Sprintf("it imports %s.%s as %s, the ABI defines %s", mod, name,
					signature(d.ParamTypes(), d.ResultTypes()), signature(h.params, h.results)))
			}
		default:
			problems = append(problems, fmt.Sprintf("it imports %s.%s: only %s and %s are available", mod, name, hostModule, wasiModule))
		}
	}
	for _, d := range m.ImportedMemories() {
		mod, name, _ := d.Import()
		problems = append(problems, fmt.Sprintf("it imports memory %s.%s: a guest must export its own", mod, name))
	}
	if len(problems) > 0 {
		return fmt.Errorf("not an http-wasm handler: %s", strings.Join(problems, "; "))
	}
	return nil
}

func signature(params, results []api.ValueType) string {
	names := func(ts []api.ValueType) string {
		s := make([]string, len(ts))
		for i, t := range ts {
			s[i] = api.ValueTypeName(t)
		}
		return "(" + strings.Join(s, ", ") + ")"
	}
	return names(params) + " -> " + names(results)
}
