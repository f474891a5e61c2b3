package s4u

import (
	"encoding/base64"
	"fmt"

	"github.com/jcmturner/gokrb5/v8/client"
	"github.com/jcmturner/gokrb5/v8/credentials"
	"github.com/jcmturner/gokrb5/v8/spnego"
)

// Negotiate is an HTTP Authorization header value, "Negotiate <SPNEGO
// token>", that presents t to its service in the name of t's client. Each
// call makes a new authenticator, so a backend's replay cache accepts every
// one.
func (t *Ticket) Negotiate() (string, error) {
	// spnego.NewKRB5TokenAPREQ takes the authenticator's client name from a
	// gokrb5 Client's credentials; this Client is never logged in, only its
	// (password-less) credentials, naming the ticket's client, are read.
	user := &client.Client{Credentials: credentials.NewFromPrincipalName(t.CName, t.CRealm)}
	nt, err := spnego.NewNegTokenInitKRB5(user, t.Ticket, t.Key)
	if err != nil {
		return "", fmt.Errorf("making the SPNEGO token for %s: %w", t.Client(), err)
	}
	tok := spnego.SPNEGOToken{Init: true, NegTokenInit: nt}
	b, err := tok.Marshal()
	if err != nil {
		return "", fmt.Errorf("encoding the SPNEGO token for %s: %w", t.Client(), err)
	}
	return "Negotiate " + base64.StdEncoding.EncodeToString(b), nil
}
