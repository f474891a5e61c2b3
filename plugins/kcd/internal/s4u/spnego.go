package s4u

import (
	"encoding/base64"
	"fmt"
)

const negotiatePrefix = "Negotiate "

// Negotiate is an HTTP Authorization header value, "Negotiate <SPNEGO
// token>", that presents t to its service in the name of t's client. Each
// call makes a new authenticator, so a backend's replay cache accepts every
// one.
//
// The token is what gokrb5's spnego.NewNegTokenInitKRB5 makes (GSS
// checksum with the integrity and confidentiality flags, no subkey, no AP
// options), but what is the same for every token of t (the ticket's
// encoding, the keys derived from the session key, the framing) is worked
// out on the first call and kept with t; a call encodes and encrypts only
// the new authenticator and the envelopes around it. Safe for concurrent
// use.
func (t *Ticket) Negotiate() (string, error) {
	p, err := t.tokenParts()
	if err != nil {
		return "", fmt.Errorf("making the SPNEGO token for %s: %w", t.Client(), err)
	}
	b, err := p.token()
	if err != nil {
		return "", fmt.Errorf("making the SPNEGO token for %s: %w", t.Client(), err)
	}
	out := make([]byte, len(negotiatePrefix)+base64.StdEncoding.EncodedLen(len(b)))
	copy(out, negotiatePrefix)
	base64.StdEncoding.Encode(out[len(negotiatePrefix):], b)
	return string(out), nil
}
