package update

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/gatehouse/gatehouse/tunnel"
)

// answerWait bounds the wait for the gateway's ReleaseResponse.
const answerWait = 30 * time.Second

// StreamFetch downloads releases over the tunnel: each fetch opens a
// stream with open (the session's yamux Open), writes one
// tunnel.ReleaseRequest frame and reads one tunnel.ReleaseResponse
// frame; the binary's Size bytes follow on the stream. ctx ending closes
// the stream.
func StreamFetch(open func() (net.Conn, error)) FetchFunc {
	return func(ctx context.Context, version, goos, goarch string) (io.ReadCloser, int64, error) {
		if open == nil {
			return nil, 0, errors.New("no tunnel session to download over")
		}
		st, err := open()
		if err != nil {
			return nil, 0, fmt.Errorf("opening a download stream: %w", err)
		}
		stop := context.AfterFunc(ctx, func() { st.Close() })
		_ = st.SetReadDeadline(time.Now().Add(answerWait))
		req := tunnel.ReleaseRequest{Type: tunnel.ReleaseStreamType, Version: version, OS: goos, Arch: goarch}
		var resp tunnel.ReleaseResponse
		if err = tunnel.WriteFrame(st, req); err == nil {
			err = tunnel.ReadFrame(st, &resp)
		}
		if err == nil && resp.Error != "" {
			err = fmt.Errorf("the gateway has no binary for release %s %s/%s: %s", version, goos, goarch, resp.Error)
		}
		if err != nil {
			stop()
			st.Close()
			return nil, 0, err
		}
		_ = st.SetReadDeadline(time.Time{})
		return &stream{Reader: io.LimitReader(st, resp.Size), c: st, stop: stop}, resp.Size, nil
	}
}

type stream struct {
	io.Reader
	c    net.Conn
	stop func() bool
}

func (s *stream) Close() error {
	s.stop()
	return s.c.Close()
}
