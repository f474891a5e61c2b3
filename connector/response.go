package connector

import (
	"net/http"
	"strings"
)

// A backend's response is read by the app's http.Transport or by the lean
// client (internal/fastpath/leanclient), which reuses a connection only
// when the response's end is certain. See RATIONALE.md ("Why does the
// connector drop 1xx answers and close doubtful backend connections?").

// maxRespHead bounds the response heads (interim 1xx heads included) a
// backend may send for one request, on both clients: a header flood gets
// a 502, not the connector's memory. net/http parses a head of n bytes
// into up to 15n bytes of maps and strings.
const maxRespHead = 256 << 10

// stripGatehouse removes every X-Gatehouse-* field from a backend's
// response head: the gateway takes tunnel.ErrorHeader as the connector's
// own error report, so only the connector may set such fields.
func stripGatehouse(h http.Header) {
	for k := range h {
		if len(k) >= len("X-Gatehouse-") && strings.EqualFold(k[:len("X-Gatehouse-")], "X-Gatehouse-") {
			delete(h, k)
		}
	}
}
