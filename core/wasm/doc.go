// Package wasm runs HTTP filters compiled to WebAssembly: a host for the
// http-wasm handler ABI (module "http_handler", guest exports
// handle_request and handle_response) on wazero, written from the ABI's
// specification.
//
// A [Runtime] is made once per process; it owns the compilation cache, so a
// module is compiled once and later loads read machine code from disk.
// [Runtime.Load] turns a [Spec] (a module path pinned by its sha256, the
// filter's opaque config and its limits) into a [Filter]: it checks the
// module's imports and exports, compiles it and starts one instance, so a
// broken module is refused at config load, never on the request path.
// [Filter.Wrap] puts the filter in front of an http.Handler; a chain is
// filters wrapping each other.
//
// Each filter keeps a bounded pool of instances. An instance serves one
// request at a time, from handle_request through handle_response. Every
// guest call has its own deadline, enforced by wazero closing the module
// (a guest in an endless loop is stopped, not left pinning a thread).
// Guests get the real clock and crypto/rand, and neither files nor
// sockets.
//
// The host fails closed: any trap (a guest panic, an ABI violation, the
// deadline, memory exhaustion) discards that instance and answers 500 with
// the request id, never passing the request on unfiltered; no free instance
// before the queue timeout answers 503; after [Spec.MaxFailures]
// consecutive failures the filter answers 503 without instantiating until
// it is loaded again.
//
// Choices the ABI leaves to the host:
//
//   - Trailers are not supported: feature 4 is never enabled, trailer
//     reads are empty and trailer writes trap.
//   - A response header set or removed in handle_request is applied again
//     when the next handler sends its header, so the guest's value wins
//     over the app's without buffering the response.
//   - Without buffer_response the response streams: handle_response sees
//     the status and headers sent and reads no body; changing them traps,
//     and a trap there aborts the response (it cannot become a 500).
//     With buffer_response the whole response waits for handle_response,
//     and a trap there is a clean 500.
//   - read_body always reads the incoming body, even after write_body
//     replaced what the next handler gets. After next it reads EOF.
//   - Writing a response body in handle_request and returning next=1, or
//     returning next other than 0 or 1, is a violation.
//   - get_status_code in handle_request is the guest's own answer (200
//     unless set). "host" is a request header like the others.
//   - set_uri takes an origin-form URI and refuses dot segments; header
//     names must be tokens and values free of control characters.
//   - A request body over MaxBodyBytes with buffer_request is a 413, not
//     the guest's fault; a buffered response over it is a 502.
//
// Why the host is written this way is in RATIONALE.md, "WASM filters".
package wasm
