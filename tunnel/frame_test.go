package tunnel

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"net/http"
	"reflect"
	"runtime"
	"strings"
	"testing"
)

func TestFrameRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		in   any
		out  func() any // fresh value to decode into
	}{
		{"heartbeat", Message{Type: MsgHeartbeat, Heartbeat: &Heartbeat{InFlight: 12}},
			func() any { return new(Message) }},
		{"hello", Message{Type: MsgHello, Hello: &Hello{Version: "v1", Hostname: "dc1", Session: 3}},
			func() any { return new(Message) }},
		{"config with apps", Message{Type: MsgConfig, Config: &Config{Version: 7, HeartbeatMillis: 10000, Apps: []AppConfig{
			{Name: "a", ExternalHost: "a.example.com", URL: "https://10.0.0.1/base", TimeoutMillis: 1500,
				CAPEM: []byte("-----BEGIN CERTIFICATE-----\n"), PinSHA256: strings.Repeat("ab", 32), ServerName: "a.internal", PreserveHost: true},
		}}}, func() any { return new(Message) }},
		{"error", Message{Type: MsgError, Error: &Error{Message: "removed", Fatal: true}},
			func() any { return new(Message) }},
		{"enroll request", EnrollRequest{TokenID: "t", Secret: "s", CSR: []byte{0, 1, 2, 255}, Hostname: "h", Version: "v"},
			func() any { return new(EnrollRequest) }},
		// The largest frame allowed: a JSON string of MaxFrame-2 bytes plus its quotes.
		{"exactly MaxFrame", strings.Repeat("x", MaxFrame-2), func() any { return new(string) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := WriteFrame(&buf, tt.in); err != nil {
				t.Fatalf("WriteFrame: %v", err)
			}
			if n := binary.BigEndian.Uint32(buf.Bytes()); int(n) != buf.Len()-4 {
				t.Fatalf("length prefix %d, frame body %d bytes", n, buf.Len()-4)
			}
			// Two frames back to back: ReadFrame must consume exactly one.
			second := buf.Bytes()
			buf.Write(append([]byte(nil), second...))
			for i := range 2 {
				out := tt.out()
				if err := ReadFrame(&buf, out); err != nil {
					t.Fatalf("ReadFrame #%d: %v", i, err)
				}
				if got := reflect.ValueOf(out).Elem().Interface(); !reflect.DeepEqual(got, tt.in) {
					t.Fatalf("ReadFrame #%d = %+v, want %+v", i, got, tt.in)
				}
			}
			if err := ReadFrame(&buf, tt.out()); err != io.EOF {
				t.Fatalf("ReadFrame at end = %v, want io.EOF", err)
			}
		})
	}
}

func TestWriteFrameTooLarge(t *testing.T) {
	var buf bytes.Buffer
	err := WriteFrame(&buf, strings.Repeat("x", MaxFrame-1)) // MaxFrame+1 bytes of JSON
	if !errors.Is(err, ErrFrameTooLarge) {
		t.Fatalf("WriteFrame(MaxFrame+1 bytes) = %v, want ErrFrameTooLarge", err)
	}
	if buf.Len() != 0 {
		t.Fatalf("WriteFrame wrote %d bytes of a refused frame", buf.Len())
	}
	if err := WriteFrame(&buf, func() {}); err == nil || errors.Is(err, ErrFrameTooLarge) {
		t.Fatalf("WriteFrame(func) = %v, want an encoding error", err)
	}
}

func prefixed(n uint32, body string) []byte {
	b := binary.BigEndian.AppendUint32(nil, n)
	return append(b, body...)
}

func TestReadFrameErrors(t *testing.T) {
	tests := []struct {
		name    string
		in      []byte
		wantIs  error  // errors.Is target, if any
		wantSub string // substring of the message, if any
	}{
		{"empty input", nil, io.EOF, ""},
		{"half a length prefix", []byte{0, 0}, io.ErrUnexpectedEOF, ""},
		{"truncated body", prefixed(100, `{"version":"x"`), io.ErrUnexpectedEOF, "reading 100-byte frame"},
		{"prefix just over MaxFrame", prefixed(MaxFrame+1, ""), ErrFrameTooLarge, "length prefix 1048577"},
		{"prefix 4 GiB", prefixed(0xFFFFFFFF, ""), ErrFrameTooLarge, "length prefix 4294967295"},
		{"malformed JSON", prefixed(9, `{"version`), nil, "malformed frame"},
		{"wrong JSON type", prefixed(2, `[]`), nil, "malformed frame"},
		{"zero-length frame", prefixed(0, ""), nil, "malformed frame"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var h Hello
			err := ReadFrame(bytes.NewReader(tt.in), &h)
			if err == nil {
				t.Fatalf("ReadFrame = nil error, decoded %+v", h)
			}
			if tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
				t.Errorf("ReadFrame = %v, want errors.Is %v", err, tt.wantIs)
			}
			if tt.wantSub != "" && !strings.Contains(err.Error(), tt.wantSub) {
				t.Errorf("ReadFrame = %q, want it to contain %q", err, tt.wantSub)
			}
		})
	}
}

func TestReadFrameUnknownFieldsIgnored(t *testing.T) {
	var h Hello
	body := `{"version":"v2","hostname":"h","session":3,"new_field":{"x":1}}`
	if err := ReadFrame(bytes.NewReader(prefixed(uint32(len(body)), body)), &h); err != nil {
		t.Fatalf("ReadFrame: %v", err)
	}
	if h != (Hello{Version: "v2", Hostname: "h", Session: 3}) {
		t.Fatalf("ReadFrame = %+v", h)
	}
}

// A peer announcing a 4 GiB frame must be refused before anything of that
// size is allocated (or read).
func TestReadFrameOversizedDoesNotAllocate(t *testing.T) {
	in := prefixed(0xFFFFFFF0, "")
	// The reader would deliver an endless body if asked: nothing may be read past the prefix.
	r := io.MultiReader(bytes.NewReader(in), endless{})
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	var h Hello
	err := ReadFrame(r, &h)
	runtime.ReadMemStats(&after)
	if !errors.Is(err, ErrFrameTooLarge) {
		t.Fatalf("ReadFrame = %v, want ErrFrameTooLarge", err)
	}
	if got := after.TotalAlloc - before.TotalAlloc; got > 64<<10 {
		t.Fatalf("ReadFrame allocated %d bytes to refuse an oversized frame", got)
	}
	allocs := testing.AllocsPerRun(20, func() {
		_ = ReadFrame(bytes.NewReader(in), &h)
	})
	if allocs > 8 {
		t.Fatalf("ReadFrame made %.0f allocations to refuse an oversized frame", allocs)
	}
}

type endless struct{}

func (endless) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 'x'
	}
	return len(p), nil
}

func TestHeaderLimit(t *testing.T) {
	src := strings.Repeat("0123456789", 10) // 100 bytes
	tests := []struct {
		name     string
		n        int64
		chunk    int  // read size
		unlimit  int  // Unlimit after this many bytes (-1: never)
		wantRead int  // bytes delivered before the error
		wantErr  bool // ErrHeaderTooLarge (else io.EOF at the end)
	}{
		{"budget larger than input", 200, 7, -1, 100, false},
		{"budget exactly the input", 100, 7, -1, 100, true},
		{"budget smaller, small reads", 30, 7, -1, 30, true},
		{"budget smaller, one big read", 30, 1000, -1, 30, true},
		{"zero budget", 0, 10, -1, 0, true},
		{"unlimited before the budget ran out", 30, 10, 20, 100, false},
		{"unlimited exactly at the budget", 30, 10, 30, 100, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := &HeaderLimit{R: strings.NewReader(src), N: tt.n}
			var got []byte
			var err error
			buf := make([]byte, tt.chunk)
			for {
				if tt.unlimit >= 0 && len(got) >= tt.unlimit {
					l.Unlimit()
				}
				var n int
				n, err = l.Read(buf)
				got = append(got, buf[:n]...)
				if err != nil {
					break
				}
			}
			if len(got) != tt.wantRead || string(got) != src[:len(got)] {
				t.Fatalf("read %d bytes %q, want the first %d", len(got), got, tt.wantRead)
			}
			if tt.wantErr && !errors.Is(err, ErrHeaderTooLarge) {
				t.Fatalf("final error %v, want ErrHeaderTooLarge", err)
			}
			if !tt.wantErr && err != io.EOF {
				t.Fatalf("final error %v, want io.EOF", err)
			}
		})
	}
}

// HeaderLimit bounds what http.ReadRequest buffers, as the connector uses it.
func TestHeaderLimitWithReadRequest(t *testing.T) {
	big := "GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + strings.Repeat("a", 8<<10) + "\r\n\r\n"
	small := "GET /ok HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n" + strings.Repeat("b", 5000)
	tests := []struct {
		name    string
		in      string
		wantErr bool
	}{
		{"headers over the limit", big, true},
		{"headers under the limit, body over it", small, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := &HeaderLimit{R: strings.NewReader(tt.in), N: 1 << 10}
			req, err := http.ReadRequest(bufio.NewReaderSize(l, 256))
			if tt.wantErr {
				if !errors.Is(err, ErrHeaderTooLarge) {
					t.Fatalf("ReadRequest = %v, want ErrHeaderTooLarge", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ReadRequest: %v", err)
			}
			l.Unlimit()
			body, err := io.ReadAll(req.Body)
			if err != nil || len(body) != 5000 {
				t.Fatalf("body: %d bytes, %v", len(body), err)
			}
		})
	}
}

func BenchmarkFrameRoundTrip(b *testing.B) {
	m := Message{Type: MsgHeartbeat, Heartbeat: &Heartbeat{InFlight: 3}}
	var buf bytes.Buffer
	b.ReportAllocs()
	for b.Loop() {
		buf.Reset()
		if err := WriteFrame(&buf, m); err != nil {
			b.Fatal(err)
		}
		var out Message
		if err := ReadFrame(&buf, &out); err != nil {
			b.Fatal(err)
		}
	}
}
