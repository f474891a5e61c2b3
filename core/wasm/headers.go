package wasm

import (
	"context"
	"net/http"
	"net/textproto"
	"slices"
	"strings"

	"github.com/tetratelabs/wazero/api"
)

// headerFor is the header map of kind for reading, or nil for trailers
// (always empty here: this host does not support them).
func headerFor(ex *exchange, fn string, kind uint32) http.Header {
	switch kind {
	case kindRequest:
		return ex.r.Header
	case kindResponse:
		return ex.w.Header()
	case kindRequestTrailers, kindResponseTrailers:
		return nil
	}
	violate(fn, "header kind %d is not 0 (request), 1 (response), 2 or 3 (trailers)", kind)
	return nil
}

// headerForChange is the header map of kind for a change, trapping when
// that message was already passed on or sent.
func headerForChange(ex *exchange, fn string, kind uint32) http.Header {
	switch kind {
	case kindRequest:
		mustBeBeforeNext(ex, fn)
		return ex.r.Header
	case kindResponse:
		switch {
		case ex.phase == phaseRequest:
		case ex.phase == phaseResponse && ex.rw.buffer:
		default:
			violate(fn, "the response header was already sent: enable buffer_response (feature 2) in handle_request")
		}
		ex.saveHeader()
		return ex.w.Header()
	case kindRequestTrailers, kindResponseTrailers:
		violate(fn, "trailers are not supported by this host (feature 4 is off)")
	}
	violate(fn, "header kind %d is not 0 (request), 1 (response), 2 or 3 (trailers)", kind)
	return nil
}

// isHost reports whether a request header name is Host, which Go keeps
// in Request.Host rather than in the header map.
func isHost(kind uint32, name string) bool {
	return kind == kindRequest && strings.EqualFold(name, "host")
}

// get_header_names(kind, buf, buf_limit) -> count<<32 | len: lower-case
// names, sorted, each NUL-terminated.
func getHeaderNames(ctx context.Context, mod api.Module, stack []uint64) {
	ex := inRequest(ctx, "get_header_names")
	kind := uint32(stack[0])
	h := headerFor(ex, "get_header_names", kind)
	names := make([]string, 0, len(h)+1)
	for k := range h {
		names = append(names, k)
	}
	if kind == kindRequest && ex.r.Host != "" && h.Get("Host") == "" {
		names = append(names, "Host")
	}
	slices.Sort(names)
	b := ex.scratch[:0]
	for _, n := range names {
		for i := 0; i < len(n); i++ {
			c := n[i]
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			b = append(b, c)
		}
		b = append(b, 0)
	}
	ex.scratch = b
	n := writeIfFits(mod, "get_header_names", uint32(stack[1]), uint32(stack[2]), b)
	stack[0] = uint64(len(names))<<32 | uint64(n)
}

// get_header_values(kind, name, name_len, buf, buf_limit) -> count<<32 |
// len: the values of a name (case-insensitive), each NUL-terminated.
func getHeaderValues(ctx context.Context, mod api.Module, stack []uint64) {
	ex := inRequest(ctx, "get_header_values")
	kind := uint32(stack[0])
	h := headerFor(ex, "get_header_values", kind)
	name := string(read(mod, "get_header_values", uint32(stack[1]), uint32(stack[2])))
	var values []string
	if isHost(kind, name) {
		if ex.r.Host != "" {
			values = []string{ex.r.Host}
		}
	} else {
		values = h[textproto.CanonicalMIMEHeaderKey(name)]
	}
	b := ex.scratch[:0]
	for _, v := range values {
		b = append(append(b, v...), 0)
	}
	ex.scratch = b
	n := writeIfFits(mod, "get_header_values", uint32(stack[3]), uint32(stack[4]), b)
	stack[0] = uint64(len(values))<<32 | uint64(n)
}

func setHeaderValue(ctx context.Context, mod api.Module, stack []uint64) {
	changeHeader(ctx, mod, stack, "set_header_value", func(h http.Header, k, v string) { h[k] = []string{v} })
}

func addHeaderValue(ctx context.Context, mod api.Module, stack []uint64) {
	changeHeader(ctx, mod, stack, "add_header_value", func(h http.Header, k, v string) { h[k] = append(h[k], v) })
}

// changeHeader reads and validates a name and value and applies change.
func changeHeader(ctx context.Context, mod api.Module, stack []uint64, fn string, change func(h http.Header, key, value string)) {
	ex := inRequest(ctx, fn)
	kind := uint32(stack[0])
	h := headerForChange(ex, fn, kind)
	name := string(read(mod, fn, uint32(stack[1]), uint32(stack[2])))
	if !validToken(name) {
		violate(fn, "%q is not a header name", name)
	}
	value := read(mod, fn, uint32(stack[3]), uint32(stack[4]))
	if !validFieldValue(value) {
		violate(fn, "the value of %s has a control character", name)
	}
	if isHost(kind, name) {
		ex.request().Host = string(value)
		return
	}
	key := textproto.CanonicalMIMEHeaderKey(name)
	change(h, key, string(value))
	ex.noteResponseChange(kind, key, fn != "add_header_value")
}

// remove_header(kind, name, name_len).
func removeHeader(ctx context.Context, mod api.Module, stack []uint64) {
	ex := inRequest(ctx, "remove_header")
	kind := uint32(stack[0])
	h := headerForChange(ex, "remove_header", kind)
	name := string(read(mod, "remove_header", uint32(stack[1]), uint32(stack[2])))
	if isHost(kind, name) {
		ex.request().Host = ""
		return
	}
	key := textproto.CanonicalMIMEHeaderKey(name)
	delete(h, key)
	ex.noteResponseChange(kind, key, true)
}

// noteResponseChange records a response header set or removed in
// handle_request, to be applied again over the next handler's header. A
// value only added is not replayed (the next handler adds to it), unless
// the name was set or removed before.
func (ex *exchange) noteResponseChange(kind uint32, key string, setOrRemove bool) {
	if kind != kindResponse || ex.phase != phaseRequest {
		return
	}
	i := slices.IndexFunc(ex.replay, func(op headerOp) bool { return op.name == key })
	if i < 0 && !setOrRemove {
		return
	}
	values, ok := ex.w.Header()[key]
	op := headerOp{name: key, remove: !ok, values: slices.Clone(values)}
	if i < 0 {
		ex.replay = append(ex.replay, op)
	} else {
		ex.replay[i] = op
	}
}
