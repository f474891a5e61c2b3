package e2e

import (
	"bytes"
	"context"
	"math/rand/v2"
	"net/http"
	"testing"

	"github.com/coder/websocket"
)

// wsMessage is one WebSocket message to send and expect back.
type wsMessage struct {
	typ  websocket.MessageType
	data []byte
}

// wsEcho opens a WebSocket through the gateway, sends each message, and
// checks that each comes back unchanged, in order.
func wsEcho(t testing.TB, c *http.Client, url string, msgs []wsMessage) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	conn, resp, err := websocket.Dial(ctx, url, &websocket.DialOptions{HTTPClient: c})
	if err != nil {
		t.Fatalf("dialing %s: %v (response %v)", url, err, resp)
	}
	defer conn.CloseNow()
	conn.SetReadLimit(4 << 20)
	for i, m := range msgs {
		if err := conn.Write(ctx, m.typ, m.data); err != nil {
			t.Fatalf("message %d: write: %v", i, err)
		}
		typ, got, err := conn.Read(ctx)
		if err != nil {
			t.Fatalf("message %d: read: %v", i, err)
		}
		if typ != m.typ || !bytes.Equal(got, m.data) {
			t.Fatalf("message %d (%v, %d bytes) came back as %v, %d bytes, equal=%v",
				i, m.typ, len(m.data), typ, len(got), bytes.Equal(got, m.data))
		}
	}
	if err := conn.Close(websocket.StatusNormalClosure, "done"); err != nil {
		t.Fatalf("closing the WebSocket: %v", err)
	}
}

func randomBytes(n int, seed uint64) []byte {
	b := make([]byte, n)
	r := rand.NewChaCha8([32]byte{byte(seed), byte(seed >> 8)})
	_, _ = r.Read(b)
	return b
}

// TestWebSocketEcho relays a WebSocket through gateway and connector:
// text and binary messages, small and 1 MiB, come back intact.
func TestWebSocketEcho(t *testing.T) {
	t.Parallel()
	be := newBackend(t)
	g := startGateway(t, oneApp(be.URL))
	enrollConnector(t, g, "connector", "default")
	c := g.client(false)
	waitServing(t, c, "https://app.localhost/hit")

	big := bytes.Repeat([]byte("Gatehouse ünïcode text · "), (1<<20)/27+1)[:1<<20]
	for !bytes.Equal(bytes.ToValidUTF8(big, nil), big) { // do not cut a rune in half
		big = big[:len(big)-1]
	}
	wsEcho(t, c, "wss://app.localhost/ws", []wsMessage{
		{websocket.MessageText, []byte("hello")},
		{websocket.MessageBinary, []byte{0, 1, 2, 0xff, 0xfe}},
		{websocket.MessageText, []byte("héllo wörld ✓")},
		{websocket.MessageBinary, randomBytes(1<<20, 1)},
		{websocket.MessageText, big},
		{websocket.MessageBinary, randomBytes(70_000, 2)},
		{websocket.MessageText, []byte("bye")},
	})
}
