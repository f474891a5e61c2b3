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
// Where the specification speaks, the host follows it (tests:
// spec_test.go, conformance_test.go, e2e/wasm_spec_test.go):
//
//   - next: any value but zero in the low half of handle_request's result
//     passes the request on (the spec says "zero or one"; the reference
//     host, too, treats any non-zero value as next). Zero answers; the
//     upper half is then ignored.
//   - write_body(response) in handle_request, then next: the first write
//     replaced the (empty) body and the next handler's output is appended
//     to it. With buffer_response, handle_response reads the whole body
//     and its first write_body replaces it all; without, the guest's bytes
//     go out right after the next handler's header, before its body. The
//     app's Content-Length is dropped (or recomputed when buffered). No
//     bytes go out where the status allows no body (1xx, 204, 304), and
//     none before the host's error page (below).
//   - With buffer_request the request body is buffered (before next at the
//     latest, even if the guest did not read it), the next handler gets it
//     whole, and in handle_response read_body reads it again from its
//     start.
//   - is_error is 1 when the host answered in place of the next handler:
//     the gateway's error pages (no connector, backend down, timeout,
//     sign-on, identity; core/proxy tells the filter through
//     MarkHostError), an inner filter's failure or refusal, a request body
//     over MaxBodyBytes with buffer_request (413), a buffered response
//     over it (502), or a next handler that panicked or aborted. A
//     backend's own status, 5xx included, is the next handler's answer:
//     is_error 0.
//
// Where the host differs from the specification or goes beyond it, and
// why:
//
//   - Trailers are not supported: response trailers arrive after the
//     body, so a guest could only see them with buffer_response, and no
//     filter needs them so far. Feature 4 is never enabled, trailer reads
//     are empty and trailer writes trap, as the spec asks of such a host.
//   - enable_features returns the features enabled, not every feature the
//     host could enable (as the reference host does): a guest asks for
//     what it needs and checks the answer.
//   - Every change to what was already passed on traps: request headers,
//     method, URI and request body after next; response headers, status
//     and body in handle_response without buffer_response. The spec
//     requires this only for the status; a silent no-op would let a
//     security filter believe it acted.
//   - A response header set or removed in handle_request is applied again
//     when the next handler sends its header, so the guest's value wins
//     over the app's without buffering the response (security headers on
//     WebSocket, SSE and large downloads).
//   - Without buffer_response the response streams: handle_response sees
//     the status and headers sent and reads an empty body (the spec's "may
//     read EOF"), and a trap there aborts the connection, because a 500
//     can no longer be sent. With buffer_response a trap is a clean 500.
//   - read_body(request) after next without buffer_request reads EOF (the
//     reference host traps): the body went to the next handler. read_body
//     always reads the incoming body, even after write_body replaced what
//     the next handler gets; read_body(response) in handle_request reads
//     EOF.
//   - Bodies are bounded by MaxBodyBytes: a buffered request body over it
//     is a 413 (the client's fault, not counted against the guest), a
//     buffered response over it a 502, and a guest's write_body past it
//     traps. The spec sets no limit; the gateway must.
//   - get_status_code in handle_request is the guest's own answer (200
//     unless set), where the spec allows a trap.
//   - Values are checked before use, and a bad one traps: header names
//     and methods must be tokens and header values free of control
//     characters (no header injection); set_uri takes only an encoded
//     origin-form URI ("/path?query", "" meaning "/") without dot segments,
//     as the gateway refuses them from clients; set_status_code takes
//     100-599.
//   - "host" is a request header like the others (Go keeps it apart).
//     Header names come lower-cased and sorted. get_protocol_version says
//     "HTTP/1.1" when the request has none; get_source_addr is the peer
//     the gateway sees (a load balancer in front of it hides the client).
//   - log cuts a message at 4 KiB and ignores one outside memory (the
//     spec: a failed log must not trap); a level below -1 is debug, above
//     2 is none.
//   - The gateway's rules stay around the filter: filters see the user's
//     identity in X-Gatehouse-* headers but those, the gateway's cookies
//     and hop-by-hop headers never reach the app, whatever the guest sets.
//   - Guests may import WASI (the spec requires none): no files, sockets,
//     arguments or environment; the real clock and crypto/rand. Any other
//     import, or an http_handler function the ABI does not define, is
//     refused at load. The start function is _initialize (a reactor, e.g.
//     Go's -buildmode=c-shared) or _start (a command that returns, e.g.
//     TinyGo); a guest that exits during start is refused.
//   - handle_response must be an export (the spec's text shows it as an
//     import by mistake).
//   - Limits the spec leaves out: each guest call has a deadline, memory
//     is capped, a trap discards the instance and answers 500 (never the
//     request unfiltered), MaxFailures in a row stop the filter. An
//     instance serves one request at a time and keeps its globals for the
//     next request unless FreshPerRequest.
//   - With buffer_response the connection cannot be hijacked (no
//     WebSocket); without it, it can. 1xx informational responses pass
//     through without the guest.
//
// Why the host is written this way is in RATIONALE.md, "WASM filters".
package wasm
