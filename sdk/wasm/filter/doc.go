// Package filter is what a Gatehouse WASM filter is written with, in plain
// Go: it speaks the http-wasm handler ABI to the gateway.
//
// Register the handlers in init, leave main empty, and build with the
// standard toolchain as a reactor:
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o myfilter.wasm .
//
// A filter sees each request before the app does:
//
//	func init() {
//		filter.HandleRequest(func(req filter.Request, resp filter.Response) (next bool, reqCtx uint32) {
//			if strings.HasPrefix(req.URI(), "/admin") {
//				resp.SetStatusCode(403)
//				resp.Body().WriteString("forbidden\n")
//				return false, 0 // answered: the app never sees the request
//			}
//			req.Header().Set("X-Checked", "1")
//			return true, 0 // pass it on
//		})
//	}
//
//	func main() {}
//
// A filter that returns next=true may also register [HandleResponse] to see
// the app's answer; to change its status or body there, it enables
// [BufferResponse] first (in init for every request, or in the request
// handler for this one). Response headers set in the request handler are
// applied over the app's own, without buffering.
//
// Rules the host enforces: a panic, a call past the filter's deadline, or a
// change to something already passed on (a request header after next) ends
// the request with a 500 and discards the instance. An instance serves one
// request at a time and may be reused for the next one, by another user:
// keep no per-user state in globals. Finish all work inside the handler; a
// goroutine left running is frozen until the next call.
//
// Outside a WASM host (GOOS other than wasip1) the package builds but every
// host call panics, so a filter's pure logic can be tested with go test.
package filter
