package wsstream

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/coder/websocket"
)

// pair returns a client WebSocket and the server side's result: what its
// Reader read, whether it was a half-close, and the read error.
type result struct {
	data string
	half bool
	err  error
}

func pair(t *testing.T) (*websocket.Conn, <-chan result) {
	t.Helper()
	got := make(chan result, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		rd := NewReader(r.Context(), ws)
		b, err := io.ReadAll(rd)
		got <- result{string(b), rd.HalfClosed(), err}
		if err == nil && rd.HalfClosed() { // the answer after the half-close
			_ = ws.Write(r.Context(), websocket.MessageBinary, []byte("answer"))
		}
		_ = ws.Close(websocket.StatusNormalClosure, "")
	}))
	t.Cleanup(srv.Close)
	ws, _, err := websocket.Dial(context.Background(), srv.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ws.CloseNow() })
	return ws, got
}

func TestEOFHalfClosesAndTheAnswerStillFlows(t *testing.T) {
	ws, got := pair(t)
	ctx := context.Background()
	for _, m := range []string{"hello ", "", "world"} {
		if err := ws.Write(ctx, websocket.MessageBinary, []byte(m)); err != nil {
			t.Fatal(err)
		}
	}
	if err := SendEOF(ctx, ws); err != nil {
		t.Fatal(err)
	}
	r := <-got
	if r.err != nil || !r.half || r.data != "hello world" {
		t.Fatalf("got %+v, want hello world and a half-close", r)
	}
	typ, b, err := ws.Read(ctx)
	if err != nil || typ != websocket.MessageBinary || string(b) != "answer" {
		t.Fatalf("after eof: %v %q %v", typ, b, err)
	}
}

func TestCloseWithoutEOFIsAnEndNotAHalfClose(t *testing.T) {
	ws, got := pair(t)
	_ = ws.Write(context.Background(), websocket.MessageBinary, []byte("data"))
	_ = ws.Close(websocket.StatusNormalClosure, "")
	r := <-got
	if r.err != nil || r.half || r.data != "data" {
		t.Fatalf("got %+v, want data, no half-close", r)
	}
}

func TestOtherTextIsRefused(t *testing.T) {
	ws, got := pair(t)
	_ = ws.Write(context.Background(), websocket.MessageText, []byte("eofx"))
	if _, _, err := ws.Read(context.Background()); websocket.CloseStatus(err) != websocket.StatusUnsupportedData {
		t.Fatalf("the peer's close: %v, want 1003 unsupported data", err)
	}
	r := <-got
	if !errors.Is(r.err, ErrText) || r.half || !strings.Contains(r.err.Error(), "eofx") {
		t.Fatalf("got %+v, want ErrText", r)
	}
}
