package tunnel

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// MaxFrame bounds one JSON frame on the wire.
const MaxFrame = 1 << 20

// ErrFrameTooLarge is returned for a frame whose length prefix exceeds MaxFrame.
var ErrFrameTooLarge = errors.New("tunnel: frame larger than 1 MiB")

// WriteFrame writes v as one length-prefixed JSON frame.
func WriteFrame(w io.Writer, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("tunnel: encoding frame: %w", err)
	}
	if len(b) > MaxFrame {
		return ErrFrameTooLarge
	}
	buf := make([]byte, 4+len(b))
	binary.BigEndian.PutUint32(buf, uint32(len(b)))
	copy(buf[4:], b)
	_, err = w.Write(buf)
	return err
}

// ReadFrame reads one length-prefixed JSON frame into v. Unknown JSON fields
// are ignored so that newer peers can add fields.
func ReadFrame(r io.Reader, v any) error {
	var n [4]byte
	if _, err := io.ReadFull(r, n[:]); err != nil {
		return err
	}
	size := binary.BigEndian.Uint32(n[:])
	if size > MaxFrame {
		return fmt.Errorf("%w (length prefix %d)", ErrFrameTooLarge, size)
	}
	b := make([]byte, size)
	if _, err := io.ReadFull(r, b); err != nil {
		return fmt.Errorf("tunnel: reading %d-byte frame: %w", size, err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("tunnel: malformed frame: %w", err)
	}
	return nil
}

// RequestHeader opens every request stream, before the HTTP request. It
// is binary (it is on every request's path): a version byte, then the
// config version as a uvarint, then App, RequestID, Envelope and Secret,
// each a uvarint length and bytes.
type RequestHeader struct {
	// App names the published app whose backend must answer.
	App string
	// RequestID correlates gateway and connector logs and error pages.
	RequestID string
	// ConfigVersion is the gateway config the request was routed with; a
	// connector holding an older config waits briefly for the newer one.
	ConfigVersion uint64
	// Envelope is the signed identity of the user (see Envelope); empty
	// for an app without sign-in.
	Envelope []byte
	// Secret is the user's sealed vault credentials for the app (see
	// sdk/vault), for the connector's sign-on plug-in; usually empty.
	Secret []byte
}

// MaxSecret bounds RequestHeader.Secret.
const MaxSecret = 16 << 10

const (
	requestHeaderVersion = 2
	maxHeaderField       = 1024
)

// AppendRequestHeader appends h's wire form to b.
func AppendRequestHeader(b []byte, h RequestHeader) []byte {
	b = append(b, requestHeaderVersion)
	b = binary.AppendUvarint(b, h.ConfigVersion)
	b = binary.AppendUvarint(b, uint64(len(h.App)))
	b = append(b, h.App...)
	b = binary.AppendUvarint(b, uint64(len(h.RequestID)))
	b = append(b, h.RequestID...)
	b = binary.AppendUvarint(b, uint64(len(h.Envelope)))
	b = append(b, h.Envelope...)
	b = binary.AppendUvarint(b, uint64(len(h.Secret)))
	return append(b, h.Secret...)
}

// ReadRequestHeader reads a RequestHeader written by AppendRequestHeader.
func ReadRequestHeader(r *bufio.Reader) (RequestHeader, error) {
	var h RequestHeader
	v, err := r.ReadByte()
	if err != nil {
		return h, err
	}
	if v != requestHeaderVersion {
		return h, fmt.Errorf("tunnel: request header version %d is not supported (want %d): run the same Gatehouse version on gateway and connector", v, requestHeaderVersion)
	}
	if h.ConfigVersion, err = binary.ReadUvarint(r); err != nil {
		return h, fmt.Errorf("tunnel: request header: %w", err)
	}
	if h.App, err = readField(r); err != nil {
		return h, err
	}
	if h.RequestID, err = readField(r); err != nil {
		return h, err
	}
	if h.Envelope, err = readBytes(r, MaxEnvelope); err != nil {
		return h, err
	}
	h.Secret, err = readBytes(r, MaxSecret)
	return h, err
}

func readField(r *bufio.Reader) (string, error) {
	n, err := readLen(r, maxHeaderField)
	if err != nil {
		return "", err
	}
	if int(n) > r.Size() {
		b := make([]byte, n)
		if _, err := io.ReadFull(r, b); err != nil {
			return "", fmt.Errorf("tunnel: request header: %w", err)
		}
		return string(b), nil
	}
	b, err := r.Peek(int(n)) // no copy but the string's
	if err != nil {
		if err == io.EOF && len(b) > 0 {
			err = io.ErrUnexpectedEOF // as io.ReadFull says it
		}
		return "", fmt.Errorf("tunnel: request header: %w", err)
	}
	f := string(b)
	_, _ = r.Discard(int(n))
	return f, nil
}

// readBytes reads a uvarint length (at most limit) and that many bytes;
// nil for length 0.
func readBytes(r *bufio.Reader, limit uint64) ([]byte, error) {
	n, err := readLen(r, limit)
	if err != nil || n == 0 {
		return nil, err
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(r, b); err != nil {
		return nil, fmt.Errorf("tunnel: request header: %w", err)
	}
	return b, nil
}

// readLen reads a field's uvarint length and checks it against limit.
func readLen(r *bufio.Reader, limit uint64) (uint64, error) {
	n, err := binary.ReadUvarint(r)
	if err != nil {
		return 0, fmt.Errorf("tunnel: request header: %w", err)
	}
	if n > limit {
		return 0, fmt.Errorf("tunnel: request header field of %d bytes (limit %d)", n, limit)
	}
	return n, nil
}

// ErrorHeader is the response header a connector sets on an answer it made
// itself (backend unreachable, unknown app): its value is an error code,
// and the gateway turns it into its own error page. The gateway strips it
// from backend responses.
const ErrorHeader = "X-Gatehouse-Error"

// Error codes carried in ErrorHeader.
const (
	ErrCodeBackend    = "backend_unreachable"
	ErrCodeTimeout    = "backend_timeout"
	ErrCodeUnknownApp = "unknown_app"
	ErrCodeBadRequest = "bad_request"
	ErrCodeIdentity   = "identity_refused"    // no valid identity envelope
	ErrCodeSignOn     = "sign_on_unavailable" // the app's Injector failed
	ErrCodeAskCreds   = "credentials_needed"  // the vault has no (working) credentials for the user
)

// HeaderLimit passes reads through while counting them, and fails once more
// than N bytes were read before Unlimit is called: it bounds what a peer can
// make us buffer while parsing HTTP headers (textproto has no limit).
type HeaderLimit struct {
	R         io.Reader
	N         int64
	unlimited bool
}

// ErrHeaderTooLarge is returned by HeaderLimit once its budget is spent.
var ErrHeaderTooLarge = errors.New("tunnel: HTTP header section too large")

func (l *HeaderLimit) Read(p []byte) (int, error) {
	if l.unlimited {
		return l.R.Read(p)
	}
	if l.N <= 0 {
		return 0, ErrHeaderTooLarge
	}
	if int64(len(p)) > l.N {
		p = p[:l.N]
	}
	n, err := l.R.Read(p)
	l.N -= int64(n)
	return n, err
}

// Unlimit lifts the limit once the headers are parsed; bodies are unbounded.
func (l *HeaderLimit) Unlimit() { l.unlimited = true }

// Limit re-arms the limit at n bytes, for the next request on a stream.
func (l *HeaderLimit) Limit(n int64) { l.N, l.unlimited = n, false }
