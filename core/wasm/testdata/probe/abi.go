//go:build wasip1

package main

import "unsafe"

// The http_handler imports, declared here from the ABI specification
// rather than taken from the SDK: this guest tests the host.

//go:wasmimport http_handler enable_features
func enableFeatures(features uint32) uint32

//go:wasmimport http_handler get_config
func getConfig(buf unsafe.Pointer, limit uint32) uint32

//go:wasmimport http_handler log
func logMessage(level int32, msg unsafe.Pointer, msgLen uint32)

//go:wasmimport http_handler log_enabled
func logEnabled(level int32) uint32

//go:wasmimport http_handler get_header_names
func getHeaderNames(kind uint32, buf unsafe.Pointer, limit uint32) uint64

//go:wasmimport http_handler get_header_values
func getHeaderValues(kind uint32, name unsafe.Pointer, nameLen uint32, buf unsafe.Pointer, limit uint32) uint64

//go:wasmimport http_handler set_header_value
func setHeaderValue(kind uint32, name unsafe.Pointer, nameLen uint32, value unsafe.Pointer, valueLen uint32)

//go:wasmimport http_handler add_header_value
func addHeaderValue(kind uint32, name unsafe.Pointer, nameLen uint32, value unsafe.Pointer, valueLen uint32)

//go:wasmimport http_handler remove_header
func removeHeader(kind uint32, name unsafe.Pointer, nameLen uint32)

//go:wasmimport http_handler read_body
func readBody(kind uint32, buf unsafe.Pointer, limit uint32) uint64

//go:wasmimport http_handler write_body
func writeBody(kind uint32, body unsafe.Pointer, bodyLen uint32)

//go:wasmimport http_handler get_method
func getMethod(buf unsafe.Pointer, limit uint32) uint32

//go:wasmimport http_handler set_method
func setMethod(method unsafe.Pointer, methodLen uint32)

//go:wasmimport http_handler get_uri
func getURI(buf unsafe.Pointer, limit uint32) uint32

//go:wasmimport http_handler set_uri
func setURI(uri unsafe.Pointer, uriLen uint32)

//go:wasmimport http_handler get_protocol_version
func getProtocolVersion(buf unsafe.Pointer, limit uint32) uint32

//go:wasmimport http_handler get_source_addr
func getSourceAddr(buf unsafe.Pointer, limit uint32) uint32

//go:wasmimport http_handler get_status_code
func getStatusCode() uint32

//go:wasmimport http_handler set_status_code
func setStatusCode(code uint32)

func ptr(s string) unsafe.Pointer { return unsafe.Pointer(unsafe.StringData(s)) }

func bptr(b []byte) unsafe.Pointer {
	if len(b) == 0 {
		return nil
	}
	return unsafe.Pointer(&b[0])
}

// str reads a (buf, limit) -> len value, probing its length first.
func str(get func(unsafe.Pointer, uint32) uint32) string {
	n := get(nil, 0)
	b := make([]byte, n)
	get(bptr(b), n)
	return string(b)
}

// list reads a count<<32|len value, probing first.
func list(get func(unsafe.Pointer, uint32) uint64) (count uint32, raw string) {
	r := get(nil, 0)
	b := make([]byte, uint32(r))
	r2 := get(bptr(b), uint32(len(b)))
	if r2 != r {
		panic("count_len changed between probe and read")
	}
	return uint32(r >> 32), string(b)
}

func header(kind uint32, name string) (uint32, string) {
	return list(func(buf unsafe.Pointer, limit uint32) uint64 {
		return getHeaderValues(kind, ptr(name), uint32(len(name)), buf, limit)
	})
}

func setHeader(kind uint32, name, value string) {
	setHeaderValue(kind, ptr(name), uint32(len(name)), ptr(value), uint32(len(value)))
}

func addHeader(kind uint32, name, value string) {
	addHeaderValue(kind, ptr(name), uint32(len(name)), ptr(value), uint32(len(value)))
}

func write(kind uint32, s string) { writeBody(kind, ptr(s), uint32(len(s))) }

// readAll reads a body in chunks of size, recording the eof flags.
func readAll(kind uint32, size uint32) (body string, eofs string) {
	b := make([]byte, size)
	for i := 0; i < 100; i++ {
		r := readBody(kind, bptr(b), size)
		n := uint32(r)
		body += string(b[:n])
		if r>>32 == 1 {
			return body, eofs + "E"
		}
		eofs += "-"
	}
	return body, eofs + "!"
}
