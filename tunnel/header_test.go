package tunnel

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"math"
	"net/http"
	"strings"
	"testing"
)

func TestRequestHeaderRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		h    RequestHeader
	}{
		{"typical", RequestHeader{App: "hr", RequestID: "0123456789abcdef", ConfigVersion: 42}},
		{"zero value", RequestHeader{}},
		{"largest version", RequestHeader{App: "a", RequestID: "r", ConfigVersion: math.MaxUint64}},
		{"fields at the limit", RequestHeader{App: strings.Repeat("a", maxHeaderField), RequestID: strings.Repeat("r", maxHeaderField), ConfigVersion: 1 << 40}},
		{"non-ASCII bytes", RequestHeader{App: "ünï\x00\xff", RequestID: "\r\n", ConfigVersion: 7}},
		{"envelope", RequestHeader{App: "hr", RequestID: "r", ConfigVersion: 1, Envelope: []byte("signed\x00bytes")}},
		{"secret", RequestHeader{App: "hr", Envelope: []byte("e"), Secret: []byte("sealed")}},
		{"envelope at the limit", RequestHeader{App: "hr", Envelope: bytes.Repeat([]byte{0xee}, MaxEnvelope)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wire := AppendRequestHeader(nil, tt.h)
			// The header is followed on the stream by the HTTP request,
			// which must be left unread for http.ReadRequest.
			in := append(append([]byte(nil), wire...), "GET /x HTTP/1.1\r\nHost: h\r\n\r\n"...)
			br := bufio.NewReader(bytes.NewReader(in))
			got, err := ReadRequestHeader(br)
			if err != nil {
				t.Fatalf("ReadRequestHeader: %v", err)
			}
			if got.App != tt.h.App || got.RequestID != tt.h.RequestID || got.ConfigVersion != tt.h.ConfigVersion || !bytes.Equal(got.Envelope, tt.h.Envelope) || !bytes.Equal(got.Secret, tt.h.Secret) {
				t.Fatalf("ReadRequestHeader = %+v, want %+v", got, tt.h)
			}
			req, err := http.ReadRequest(br)
			if err != nil || req.URL.Path != "/x" {
				t.Fatalf("request after the header: %v, %v", req, err)
			}
			// Appending keeps what the buffer already holds.
			if b := AppendRequestHeader([]byte("prefix"), tt.h); !bytes.Equal(b, append([]byte("prefix"), wire...)) {
				t.Fatalf("AppendRequestHeader does not append")
			}
		})
	}
}

func TestReadRequestHeaderErrors(t *testing.T) {
	good := AppendRequestHeader(nil, RequestHeader{App: "hr", RequestID: "rid", ConfigVersion: 300})
	long := []byte{requestHeaderVersion, 1}
	long = binary.AppendUvarint(long, maxHeaderField+1)
	huge := []byte{requestHeaderVersion, 1}
	huge = binary.AppendUvarint(huge, math.MaxUint64)
	tests := []struct {
		name    string
		in      []byte
		wantIs  error
		wantSub string
	}{
		{"empty stream", nil, io.EOF, ""},
		{"unknown version", append([]byte{3}, good[1:]...), nil, "version 3 is not supported"},
		{"the first version", append([]byte{1}, good[1:]...), nil, "version 1 is not supported"},
		{"a JSON frame from an old gateway", prefixed(2, "{}"), nil, "version 0 is not supported"},
		{"truncated config version", []byte{requestHeaderVersion, 0x80}, io.ErrUnexpectedEOF, ""},
		{"config version overflows", append([]byte{requestHeaderVersion}, bytes.Repeat([]byte{0xff}, 11)...), nil, "overflow"},
		{"no app length", []byte{requestHeaderVersion, 1}, io.EOF, ""},
		{"app truncated", good[:5], io.ErrUnexpectedEOF, ""},
		{"request id truncated", good[:len(good)-3], io.ErrUnexpectedEOF, ""},
		{"no envelope length", good[:len(good)-2], io.EOF, ""},
		{"no secret length", good[:len(good)-1], io.EOF, ""},
		{"envelope over the limit", binary.AppendUvarint(good[:len(good)-2:len(good)-2], MaxEnvelope+1), nil, "limit 32768"},
		{"field over the limit", long, nil, "field of 1025 bytes (limit 1024)"},
		{"field length 2^64-1", huge, nil, "limit 1024"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, err := ReadRequestHeader(bufio.NewReader(bytes.NewReader(tt.in)))
			if err == nil {
				t.Fatalf("ReadRequestHeader = %+v, nil; want an error", h)
			}
			if tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
				t.Errorf("error %v, want errors.Is %v", err, tt.wantIs)
			}
			if tt.wantSub != "" && !strings.Contains(err.Error(), tt.wantSub) {
				t.Errorf("error %q, want it to contain %q", err, tt.wantSub)
			}
		})
	}
}

// A huge announced field is refused before anything of that size is allocated.
func TestReadRequestHeaderHugeFieldDoesNotAllocate(t *testing.T) {
	in := []byte{requestHeaderVersion, 1}
	in = binary.AppendUvarint(in, 1<<40)
	br := bufio.NewReader(nil)
	allocs := testing.AllocsPerRun(20, func() {
		br.Reset(bytes.NewReader(in))
		if _, err := ReadRequestHeader(br); err == nil {
			t.Fatal("no error")
		}
	})
	if allocs > 6 {
		t.Fatalf("%.0f allocations to refuse a 1 TiB field", allocs)
	}
}

func BenchmarkRequestHeader(b *testing.B) {
	h := RequestHeader{App: "hr", RequestID: "0123456789abcdef", ConfigVersion: 42}
	var buf [64]byte
	r := bytes.NewReader(nil)
	br := bufio.NewReader(r)
	b.ReportAllocs()
	for b.Loop() {
		wire := AppendRequestHeader(buf[:0], h)
		r.Reset(wire)
		br.Reset(r)
		if _, err := ReadRequestHeader(br); err != nil {
			b.Fatal(err)
		}
	}
}
