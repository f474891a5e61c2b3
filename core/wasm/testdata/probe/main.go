//go:build wasip1

// Command probe is a test guest for the host's conformance tests: the
// request header X-Case picks a case, and the guest reports what it
// observed through the log host function ("obs ..." at info).
package main

import (
	"fmt"
	"strings"
	"unsafe"
)

func main() {}

var initFeatures uint32

func init() {
	if cfg := str(getConfig); strings.HasPrefix(cfg, "init-features=") {
		var f uint32
		fmt.Sscan(strings.TrimPrefix(cfg, "init-features="), &f)
		initFeatures = enableFeatures(f)
	}
}

func obs(format string, args ...any) {
	msg := "obs " + fmt.Sprintf(format, args...)
	logMessage(0, ptr(msg), uint32(len(msg)))
}

// respCase is the case whose handle_response runs, by reqCtx.
var respCases = map[uint32]func(isError bool){}

//go:wasmexport handle_request
func handleRequest() uint64 {
	_, c := header(0, "x-case")
	c = strings.TrimSuffix(c, "\x00")
	fn := requestCases[c]
	if fn == nil {
		obs("unknown case %q", c)
		return 1
	}
	return fn()
}

//go:wasmexport handle_response
func handleResponse(reqCtx, isError uint32) {
	obs("handle_response ctx=%d is_error=%d", reqCtx, isError)
	if fn := respCases[reqCtx]; fn != nil {
		fn(isError != 0)
	}
}

const next = 1

// nextWith passes on and has handle_response run fn.
func nextWith(id uint32, fn func(isError bool)) uint64 {
	respCases[id] = fn
	return uint64(id)<<32 | next
}

var requestCases = map[string]func() uint64{
	"pass": func() uint64 { return next },
	"probe-uri": func() uint64 {
		n := getURI(nil, 0)
		b := []byte("#########################")
		short := getURI(bptr(b), n-1)
		untouched := string(b[:n-1]) == strings.Repeat("#", int(n-1))
		exact := getURI(bptr(b[2:]), n)
		obs("len=%d short=%d untouched=%v exact=%d value=%s after=%q", n, short, untouched, exact, b[2:2+n], b[2+n:3+n])
		return 0
	},
	"request-line": func() uint64 {
		obs("method=%s uri=%s proto=%s source=%s", str(getMethod), str(getURI), str(getProtocolVersion), str(getSourceAddr))
		return 0
	},
	"config": func() uint64 {
		obs("config=%q init=%d", str(getConfig), initFeatures)
		return 0
	},
	"header-names": func() uint64 {
		count, raw := list(func(buf unsafe.Pointer, limit uint32) uint64 { return getHeaderNames(0, buf, limit) })
		obs("count=%d raw=%q", count, raw)
		return 0
	},
	"header-values": func() uint64 {
		c1, v1 := header(0, "X-Multi")
		c2, v2 := header(0, "x-MULTI")
		c3, v3 := header(0, "x-missing")
		c4, v4 := header(0, "host")
		c5, v5 := header(1, "x-preset")
		obs("multi=%d:%q folded=%d:%q missing=%d:%q host=%d:%q response=%d:%q", c1, v1, c2, v2, c3, v3, c4, v4, c5, v5)
		return 0
	},
	"trailers": func() uint64 {
		c, raw := list(func(buf unsafe.Pointer, limit uint32) uint64 { return getHeaderNames(2, buf, limit) })
		c2, v2 := header(3, "grpc-status")
		obs("names=%d:%q values=%d:%q", c, raw, c2, v2)
		return 0
	},
	"features": func() uint64 {
		before := enableFeatures(0)
		all := enableFeatures(1 | 2 | 4)
		obs("before=%d after=%d", before, all)
		return 0
	},
	"log-enabled": func() uint64 {
		obs("debug=%d info=%d error=%d none=%d", logEnabled(-1), logEnabled(0), logEnabled(2), logEnabled(3))
		logMessage(2, ptr("an error from the guest"), 23)
		logMessage(3, ptr("never logged"), 12)
		return 0
	},
	"set-request": func() uint64 {
		setHeader(0, "X-Set", "v")
		addHeader(0, "X-Add", "1")
		addHeader(0, "x-add", "2")
		removeHeader(0, ptr("X-Remove"), 8)
		setHeader(0, "Host", "rewritten.example")
		m := "PUT"
		setMethod(ptr(m), 3)
		u := "/rewritten/a%2Fb?q=1"
		setURI(ptr(u), uint32(len(u)))
		return next
	},
	"write-request-body": func() uint64 {
		write(0, "hello ")
		write(0, "world")
		return next
	},
	"read-request-buffered": func() uint64 {
		enableFeatures(1)
		body, eofs := readAll(0, 3)
		obs("body=%q eofs=%s", body, eofs)
		return next
	},
	"read-request-stream": func() uint64 {
		b := make([]byte, 4)
		r := readBody(0, bptr(b), 4)
		obs("first=%q eof=%d", b[:uint32(r)], r>>32)
		return next
	},
	"answer": func() uint64 {
		setStatusCode(418)
		obs("status=%d", getStatusCode())
		setHeader(1, "Content-Type", "text/plain")
		write(1, "short and ")
		write(1, "stout")
		return 0
	},
	"default-answer": func() uint64 { return 0 },
	"response-replay": func() uint64 {
		setHeader(1, "X-Frame-Options", "DENY")
		removeHeader(1, ptr("Server"), 6)
		addHeader(1, "X-Added", "guest")
		return next
	},
	"buffered-response": func() uint64 {
		enableFeatures(2)
		return nextWith(42, func(isError bool) {
			_, app := header(1, "x-app")
			body, eofs := readAll(1, 4)
			obs("status=%d app=%q body=%q eofs=%s", getStatusCode(), app, body, eofs)
			setStatusCode(201)
			obs("status-after=%d", getStatusCode())
			setHeader(1, "X-After", "yes")
			write(1, strings.ToUpper(body))
		})
	},
	"buffered-untouched": func() uint64 {
		enableFeatures(2)
		return nextWith(43, func(bool) {})
	},
	"unbuffered-response": func() uint64 {
		return nextWith(44, func(bool) {
			_, app := header(1, "x-app")
			b := make([]byte, 8)
			r := readBody(1, bptr(b), 8)
			obs("status=%d app=%q read=%d eof=%d", getStatusCode(), app, uint32(r), r>>32)
		})
	},
	"request-after-next": func() uint64 {
		return nextWith(45, func(bool) {
			_, r := readAll(0, 8)
			obs("method=%s request-body-eofs=%s", str(getMethod), r)
		})
	},
	// Where the spec speaks (core/wasm/spec_test.go): next other than 0
	// or 1, a response body written before next, the request body read
	// again after next, is_error.
	"next-7": func() uint64 {
		respCases[46] = func(bool) {}
		return 46<<32 | 7
	},
	"next-0-with-ctx": func() uint64 {
		setStatusCode(203)
		write(1, "answered")
		return 46 << 32 // next=0: the upper half is ignored
	},
	"body-then-next": func() uint64 {
		write(1, "guest:")
		return nextWith(60, func(bool) {
			b := make([]byte, 8)
			r := readBody(1, bptr(b), 8)
			obs("status=%d read=%d eof=%d", getStatusCode(), uint32(r), r>>32)
		})
	},
	"body-then-next-buffered": func() uint64 {
		enableFeatures(2)
		write(1, "guest")
		write(1, ":")
		return nextWith(61, func(bool) {
			body, _ := readAll(1, 64)
			obs("body=%q", body)
		})
	},
	"body-then-next-rewrite": func() uint64 {
		enableFeatures(2)
		write(1, "guest:")
		return nextWith(62, func(bool) {
			write(1, "replaced")
			write(1, "+more")
		})
	},
	"request-reread": func() uint64 {
		enableFeatures(1)
		first, _ := readAll(0, 64)
		return nextWith(63, func(bool) {
			again, eofs := readAll(0, 4)
			obs("first=%q again=%q eofs=%s", first, again, eofs)
		})
	},
	"request-reread-unread": func() uint64 {
		enableFeatures(1)
		return nextWith(64, func(bool) {
			body, eofs := readAll(0, 64)
			obs("after=%q eofs=%s", body, eofs)
		})
	},
	"request-stream-then-after": func() uint64 {
		b := make([]byte, 4)
		r := readBody(0, bptr(b), 4)
		return nextWith(65, func(bool) {
			rest, eofs := readAll(0, 64)
			obs("first=%q after=%q eofs=%s", b[:uint32(r)], rest, eofs)
		})
	},
	"error-flag": func() uint64 {
		enableFeatures(2)
		return nextWith(66, func(isError bool) {
			v := "0"
			if isError {
				v = "1"
			}
			setHeader(1, "X-Is-Error", v)
			setHeader(1, "X-Seen-Status", fmt.Sprint(getStatusCode()))
		})
	},
	"error-flag-unbuffered": func() uint64 {
		return nextWith(67, func(bool) {})
	},
	// Violations: each must trap.
	"v-request-header-after-next": func() uint64 {
		enableFeatures(2)
		return nextWith(50, func(bool) { setHeader(0, "X-Late", "1") })
	},
	"v-response-header-unbuffered": func() uint64 {
		return nextWith(51, func(bool) { setHeader(1, "X-Late", "1") })
	},
	"v-status-unbuffered": func() uint64 {
		return nextWith(52, func(bool) { setStatusCode(500) })
	},
	"v-body-unbuffered": func() uint64 {
		return nextWith(53, func(bool) { write(1, "late") })
	},
	"v-uri-after-next": func() uint64 {
		enableFeatures(2)
		return nextWith(54, func(bool) { u := "/late"; setURI(ptr(u), 5) })
	},
	"v-read-zero": func() uint64 {
		b := make([]byte, 1)
		readBody(0, bptr(b), 0)
		return next
	},
	"v-header-kind": func() uint64 {
		getHeaderNames(7, nil, 0)
		return next
	},
	"v-body-kind": func() uint64 {
		write(2, "x")
		return next
	},
	"v-trailer-set": func() uint64 {
		setHeader(2, "X-T", "1")
		return next
	},
	"v-header-injection": func() uint64 {
		setHeader(0, "X-Evil", "a\r\nX-Injected: 1")
		return next
	},
	"v-header-name": func() uint64 {
		setHeader(0, "Bad Name", "1")
		return next
	},
	"v-method": func() uint64 {
		m := "GET /x"
		setMethod(ptr(m), uint32(len(m)))
		return next
	},
	"v-uri-dot": func() uint64 {
		u := "/a/../secret"
		setURI(ptr(u), uint32(len(u)))
		return next
	},
	"v-uri-absolute": func() uint64 {
		u := "http://evil.example/"
		setURI(ptr(u), uint32(len(u)))
		return next
	},
	"v-status": func() uint64 {
		setStatusCode(99)
		return 0
	},
	"panic": func() uint64 { panic("the probe panics on purpose") },
	"loop": func() uint64 {
		for {
		}
	},
	"oom": func() uint64 {
		var keep [][]byte
		for {
			keep = append(keep, make([]byte, 1<<20))
		}
	},
	"grow": func() uint64 {
		// Grow the heap a little (within the limit), then pass: the
		// instance is recycled afterwards.
		keep := make([][]byte, 0, 8)
		for range 8 {
			keep = append(keep, make([]byte, 1<<20))
		}
		obs("grew %d MiB", len(keep))
		return next
	},
	"global-counter": func() uint64 {
		counter++
		obs("counter=%d", counter)
		return 0
	},
}

var counter int
