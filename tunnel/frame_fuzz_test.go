package tunnel

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"io"
	"reflect"
	"testing"
)

// countingReader counts what a parser took from its input.
type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

// FuzzReadFrame feeds arbitrary bytes to ReadFrame as the hub and the
// connector use it on the control stream (a Message) and at enrollment (an
// EnrollRequest). It must never panic, never take more than one frame's
// worth (4+MaxFrame bytes) from the stream, refuse an oversized length
// prefix before reading the body, and a decoded frame must encode back to
// a frame that decodes to the same value.
func FuzzReadFrame(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, fresh := range []func() any{
			func() any { return new(Message) },
			func() any { return new(EnrollRequest) },
			func() any { return new(EnrollResponse) },
		} {
			in := &countingReader{r: bytes.NewReader(data)}
			v := fresh()
			err := ReadFrame(in, v)
			if in.n > 4+MaxFrame {
				t.Fatalf("ReadFrame took %d bytes, more than one frame (%d)", in.n, 4+MaxFrame)
			}
			if len(data) >= 4 && binary.BigEndian.Uint32(data) > MaxFrame {
				if !errors.Is(err, ErrFrameTooLarge) || in.n != 4 {
					t.Fatalf("length prefix %d > MaxFrame: err %v after reading %d bytes, want ErrFrameTooLarge after 4",
						binary.BigEndian.Uint32(data), err, in.n)
				}
			}
			if err != nil {
				continue
			}
			if want := 4 + int(binary.BigEndian.Uint32(data)); in.n != want {
				t.Fatalf("ReadFrame took %d bytes of a %d-byte frame", in.n, want)
			}
			checkFrameRoundTrip(t, v, fresh())
		}
	})
}

// checkFrameRoundTrip writes v and reads it back into out: the two must
// have the same JSON form (JSON, not reflect.DeepEqual: time.Time values
// with a fixed offset get a new *Location each time they are decoded).
func checkFrameRoundTrip(t *testing.T, v, out any) {
	t.Helper()
	var buf bytes.Buffer
	if err := WriteFrame(&buf, v); err != nil {
		t.Fatalf("WriteFrame of a decoded frame: %v (%+v)", err, v)
	}
	if err := ReadFrame(&buf, out); err != nil {
		t.Fatalf("ReadFrame of a re-encoded frame: %v", err)
	}
	a, _ := json.Marshal(v)
	b, _ := json.Marshal(out)
	if !bytes.Equal(a, b) {
		t.Fatalf("frame changed in a round trip:\n%s\n%s", a, b)
	}
	if buf.Len() != 0 {
		t.Fatalf("%d bytes left after reading one frame", buf.Len())
	}
}

// maxRequestHeader is the most a RequestHeader can take from a stream:
// the version byte, four uvarint lengths and a uvarint config version
// (at most 10 bytes each), and the fields at their limits.
const maxRequestHeader = 1 + 5*binary.MaxVarintLen64 + 2*maxHeaderField + MaxEnvelope + MaxSecret

// FuzzReadRequestHeader feeds arbitrary bytes to ReadRequestHeader, which
// the connector runs on every request stream before the HTTP request. It
// must never panic, never read past the header's largest legal size (so
// no length prefix makes it allocate more), leave what follows the header
// unread, and a decoded header must encode to one that decodes the same.
func FuzzReadRequestHeader(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		in := &countingReader{r: bytes.NewReader(data)}
		br := bufio.NewReaderSize(in, 256) // smaller than a field: both readField paths run
		h, err := ReadRequestHeader(br)
		consumed := in.n - br.Buffered()
		if consumed > maxRequestHeader {
			t.Fatalf("ReadRequestHeader took %d bytes, more than the largest header (%d)", consumed, maxRequestHeader)
		}
		if err != nil {
			return
		}
		if len(h.App) > maxHeaderField || len(h.RequestID) > maxHeaderField || len(h.Envelope) > MaxEnvelope || len(h.Secret) > MaxSecret {
			t.Fatalf("a field over its limit was accepted: %d, %d, %d, %d bytes", len(h.App), len(h.RequestID), len(h.Envelope), len(h.Secret))
		}
		if rest, _ := io.ReadAll(br); !bytes.Equal(rest, data[consumed:]) {
			t.Fatalf("the bytes after the header were not left for the HTTP request")
		}
		wire := AppendRequestHeader(nil, h)
		if len(wire) > consumed {
			t.Fatalf("re-encoding a %d-byte header gave %d bytes", consumed, len(wire))
		}
		h2, err := ReadRequestHeader(bufio.NewReader(bytes.NewReader(wire)))
		if err != nil {
			t.Fatalf("reading a re-encoded header: %v", err)
		}
		if !reflect.DeepEqual(h, h2) {
			t.Fatalf("header changed in a round trip: %+v, then %+v", h, h2)
		}
	})
}

// FuzzParseToken feeds arbitrary strings to ParseToken (an operator pastes
// the token; it may be damaged). It must never panic, and a token it takes
// must encode back to one that parses the same.
func FuzzParseToken(f *testing.F) {
	f.Fuzz(func(t *testing.T, s string) {
		tok, err := ParseToken(s)
		if err != nil {
			return
		}
		if tok.ID == "" || tok.Secret == "" || len(tok.CAPin) != len("sha256:")+64 {
			t.Fatalf("ParseToken took an incomplete token: %+v", tok)
		}
		again, err := ParseToken(tok.Encode())
		if err != nil || !reflect.DeepEqual(again, tok) {
			t.Fatalf("token changed in a round trip: %+v, then %+v (%v)", tok, again, err)
		}
	})
}
