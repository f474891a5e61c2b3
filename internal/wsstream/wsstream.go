// Package wsstream carries one TCP connection's bytes over a WebSocket
// (the gatehouse-tcp subprotocol of a TCP app). Binary messages are the
// stream's data. A WebSocket has no half-close, so one text message,
// EOF ("eof"), says that the sender's input ended while it still reads
// the answer: the receiver passes that on as a half-close (a yamux FIN,
// then CloseWrite on the backend's TCP connection). A peer that never
// sends it (an older client) works as before: its close ends the
// connection.
package wsstream

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/coder/websocket"
)

// EOF is the text message that half-closes the sender's direction.
const EOF = "eof"

// ErrText is a text message other than EOF: the peer does not speak the
// protocol.
var ErrText = errors.New("wsstream: unexpected text message (only \"eof\" is allowed)")

// SendEOF tells the peer that no more data follows from this side.
func SendEOF(ctx context.Context, ws *websocket.Conn) error {
	return ws.Write(ctx, websocket.MessageText, []byte(EOF))
}

// Reader reads the data of a WebSocket's binary messages as one byte
// stream, streaming each message (never holding one whole). It returns
// io.EOF after the peer's EOF message (HalfClosed is then true) or its
// normal close; any other end is an error.
type Reader struct {
	ctx  context.Context
	ws   *websocket.Conn
	cur  io.Reader // the binary message being read
	half bool
}

// NewReader reads ws's messages until ctx ends. Nothing else may read ws.
func NewReader(ctx context.Context, ws *websocket.Conn) *Reader {
	return &Reader{ctx: ctx, ws: ws}
}

// HalfClosed reports whether the stream ended with the peer's EOF message.
func (r *Reader) HalfClosed() bool { return r.half }

func (r *Reader) Read(p []byte) (int, error) {
	for {
		if r.half {
			return 0, io.EOF
		}
		if r.cur != nil {
			n, err := r.cur.Read(p)
			if errors.Is(err, io.EOF) {
				r.cur = nil
				err = nil
				if n == 0 {
					continue
				}
			}
			return n, err
		}
		typ, msg, err := r.ws.Reader(r.ctx)
		if err != nil {
			if websocket.CloseStatus(err) == websocket.StatusNormalClosure {
				return 0, io.EOF
			}
			return 0, err
		}
		if typ == websocket.MessageBinary {
			r.cur = msg
			continue
		}
		b, err := io.ReadAll(io.LimitReader(msg, int64(len(EOF))+1))
		if err != nil {
			return 0, err
		}
		if string(b) != EOF {
			_ = r.ws.Close(websocket.StatusUnsupportedData, "only the text message \"eof\" is allowed")
			return 0, fmt.Errorf("%w: %q", ErrText, b)
		}
		r.half = true
	}
}
