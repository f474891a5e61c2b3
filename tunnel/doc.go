// Package tunnel is the wire protocol between a Gatehouse gateway and its
// connectors, shared by both sides (and importing neither).
//
// A connector dials the gateway's tunnel port over TLS 1.3. The ALPN protocol
// says what follows:
//
//   - ProtoEnroll: one length-prefixed JSON EnrollRequest and one EnrollResponse.
//     This is the only exchange without a client certificate.
//   - ProtoTunnel: a yamux session (connector = yamux client). The connector opens
//     the first stream as the control stream (Hello, Config, Ready, Heartbeat,
//     Error, Drain and Drained messages); every later stream is opened by the
//     gateway and carries one HTTP request at a time: a binary RequestHeader,
//     then the request in HTTP/1.1 wire format, answered by an HTTP/1.1
//     response on the same stream. A stream whose request had no body may
//     carry the next one; the gateway closes its side first, once it has the
//     whole response and keeps the stream no longer.
//
// Control and enrollment frames are a 4-byte big-endian length followed by
// that many bytes of JSON, at most MaxFrame bytes, so a peer speaking
// garbage is refused with a clear error rather than a large allocation.
package tunnel
