package filter

import (
	"strings"
	"unsafe"
)

// buf is reused by every read from the host; it grows to the largest
// value seen. (An instance serves one request at a time, on one thread.)
var buf = make([]byte, 2048)

func bufPtr() (unsafe.Pointer, uint32) { return unsafe.Pointer(&buf[0]), uint32(len(buf)) }

// getString calls a (buf, buf_limit) -> len function, growing buf once
// when the value does not fit: the ABI's buffer-probe convention.
func getString(get func(unsafe.Pointer, uint32) uint32) string {
	n := get(bufPtr())
	if n > uint32(len(buf)) {
		buf = make([]byte, n)
		n = get(bufPtr())
	}
	return string(buf[:n])
}

// getList is getString for functions returning count<<32 | len of
// NUL-terminated values.
func getList(get func(unsafe.Pointer, uint32) uint64) []string {
	r := get(bufPtr())
	if n := uint32(r); n > uint32(len(buf)) {
		buf = make([]byte, n)
		r = get(bufPtr())
	}
	return splitNUL(buf[:uint32(r)], int(r>>32))
}

// splitNUL splits count NUL-terminated strings.
func splitNUL(b []byte, count int) []string {
	if count == 0 {
		return nil
	}
	out := make([]string, 0, count)
	for s := range strings.SplitSeq(string(b), "\x00") {
		if len(out) == count {
			break
		}
		out = append(out, s)
	}
	return out
}

// strPtr points at s's bytes; nil for "".
func strPtr(s string) unsafe.Pointer { return unsafe.Pointer(unsafe.StringData(s)) }
