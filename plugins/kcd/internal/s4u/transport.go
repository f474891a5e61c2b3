package s4u

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"time"

	"github.com/jcmturner/gokrb5/v8/config"
	"github.com/jcmturner/gokrb5/v8/messages"
)

// maxReply caps a KDC reply read over TCP; real replies are a few KB (a
// PAC-laden AD ticket rarely passes 64 KB).
const maxReply = 1 << 20

// kdcPerTry bounds one KDC's turn when the context has no earlier
// deadline, so one silent KDC does not use up the whole call.
const kdcPerTry = 5 * time.Second

// send sends the encoded Kerberos message msg to the KDCs of realm over TCP
// (RFC 4120 7.2.2), one after the other until one answers, and returns the
// reply. A KRB-ERROR reply is returned as a messages.KRBError error.
func send(ctx context.Context, cfg *config.Config, realm string, msg []byte) ([]byte, error) {
	n, kdcs, err := cfg.GetKDCs(realm, true)
	if err != nil {
		return nil, fmt.Errorf("finding the KDCs of realm %s: %w", realm, err)
	}
	var errs []string
	for i := 1; i <= n; i++ {
		addr, ok := kdcs[i]
		if !ok {
			continue
		}
		reply, err := sendTo(ctx, addr, msg)
		if err == nil {
			var kerr messages.KRBError
			if kerr.Unmarshal(reply) == nil {
				return nil, kerr
			}
			return reply, nil
		}
		if ctx.Err() != nil {
			return nil, fmt.Errorf("talking to KDC %s: %w", addr, context.Cause(ctx))
		}
		errs = append(errs, fmt.Sprintf("%s: %v", addr, err))
	}
	if len(errs) == 0 {
		return nil, fmt.Errorf("realm %s has no KDC address", realm)
	}
	return nil, &UnreachableError{Realm: realm, Tried: errs}
}

// sendTo is one TCP exchange with the KDC at addr.
func sendTo(ctx context.Context, addr string, msg []byte) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, kdcPerTry)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Now()) })
	defer stop()
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	frame := make([]byte, 4+len(msg))
	binary.BigEndian.PutUint32(frame, uint32(len(msg)))
	copy(frame[4:], msg)
	if _, err := conn.Write(frame); err != nil {
		return nil, fmt.Errorf("sending: %w", ctxErr(ctx, err))
	}
	var hdr [4]byte
	if _, err := io.ReadFull(conn, hdr[:]); err != nil {
		return nil, fmt.Errorf("reading the reply's length: %w", ctxErr(ctx, err))
	}
	size := binary.BigEndian.Uint32(hdr[:])
	if size == 0 || size > maxReply {
		// The top bit announces a TCP extension (RFC 5021) we did not ask for.
		return nil, fmt.Errorf("reply length %d out of range (1 to %d)", size, maxReply)
	}
	reply := make([]byte, size)
	if _, err := io.ReadFull(conn, reply); err != nil {
		return nil, fmt.Errorf("reading the reply: %w", ctxErr(ctx, err))
	}
	return reply, nil
}

// ctxErr prefers the context's error to the I/O error it caused.
func ctxErr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return errors.Join(ctx.Err(), err)
	}
	return err
}

// UnreachableError says no KDC of a realm answered.
type UnreachableError struct {
	Realm string
	Tried []string // "addr: what went wrong", one per KDC
}

func (e *UnreachableError) Error() string {
	return fmt.Sprintf("no KDC of realm %s answered (%s); check the kdc address or krb5.conf and that the KDC is up",
		e.Realm, strings.Join(e.Tried, "; "))
}
