package filter

import (
	"bytes"
	"encoding/json"
	"fmt"
	"unsafe"
)

// RequestHandler handles a request before the app. It returns next=true
// to pass the request on, or false when it answered through resp (or
// accepts the default empty 200). reqCtx is handed back to the
// [ResponseHandler] of the same request.
type RequestHandler func(req Request, resp Response) (next bool, reqCtx uint32)

// ResponseHandler runs after the app answered a request that the
// [RequestHandler] passed on. isError is true when the gateway answered
// instead of the app (backend down, no connector, timeout, another filter
// failed); the app's own error status, 5xx included, is not an error.
type ResponseHandler func(reqCtx uint32, req Request, resp Response, isError bool)

var (
	onRequest  RequestHandler
	onResponse ResponseHandler
)

// HandleRequest registers the request handler. Without one every request
// is passed on. Call it from init.
func HandleRequest(h RequestHandler) { onRequest = h }

// HandleResponse registers the response handler. Call it from init.
func HandleResponse(h ResponseHandler) { onResponse = h }

// Features are optional host capabilities.
type Features uint32

const (
	// BufferRequest keeps the request body, so that the app gets it whole
	// even after the filter read it, and the ResponseHandler can read it
	// again from its start. The gateway holds the whole body in memory, up
	// to the filter's limit (a larger one is refused with 413).
	BufferRequest Features = 1
	// BufferResponse holds the app's response until the ResponseHandler
	// returns, so it can read and change the status, headers and body.
	BufferResponse Features = 2
	// Trailers: HTTP trailers. Gatehouse does not support them.
	Trailers Features = 4
)

// Has reports whether all of want are in f.
func (f Features) Has(want Features) bool { return f&want == want }

// EnableFeatures asks the host for want and returns every feature now
// enabled. Called from init it applies to every request; called from the
// RequestHandler, to the current request only.
func EnableFeatures(want Features) Features { return Features(enableFeatures(uint32(want))) }

// Config returns the filter's config as the operator wrote it.
func Config() []byte {
	n := getConfig(nil, 0)
	if n == 0 {
		return nil
	}
	b := make([]byte, n)
	getConfig(unsafe.Pointer(&b[0]), n)
	return b
}

// DecodeConfig decodes the JSON config into v, refusing unknown fields.
// An empty config decodes as {}.
func DecodeConfig(v any) error {
	cfg := Config()
	if len(bytes.TrimSpace(cfg)) == 0 {
		cfg = []byte("{}")
	}
	dec := json.NewDecoder(bytes.NewReader(cfg))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("filter config: %w", err)
	}
	return nil
}

// Level is a log level.
type Level int32

// The ABI's log levels.
const (
	LevelDebug Level = -1
	LevelInfo  Level = 0
	LevelWarn  Level = 1
	LevelError Level = 2
	LevelNone  Level = 3
)

// Log writes msg to the gateway's log, with the filter's name and the
// request id.
func Log(level Level, msg string) {
	logMessage(int32(level), unsafe.Pointer(unsafe.StringData(msg)), uint32(len(msg)))
}

// Logf formats and logs, when level is enabled.
func Logf(level Level, format string, args ...any) {
	if LogEnabled(level) {
		Log(level, fmt.Sprintf(format, args...))
	}
}

// LogEnabled reports whether the gateway logs level.
func LogEnabled(level Level) bool { return logEnabled(int32(level)) == 1 }
