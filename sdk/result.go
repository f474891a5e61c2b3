package sdk

import (
	"errors"
	"fmt"
	"net/http"
)

// Outcome says what an [AuthResult] means.
type Outcome string

// The outcomes. The zero Outcome is not one of them: a result nobody set is
// refused, so a plug-in bug fails closed.
const (
	OutcomeAuthenticated Outcome = "authenticated"
	OutcomeRedirect      Outcome = "redirect"
	OutcomeChallenge     Outcome = "challenge"
	OutcomeNotMine       Outcome = "not_mine"
)

// MaxStateSize caps [AuthResult.State]: the gateway seals it into a cookie,
// and cookies are small.
const MaxStateSize = 2048

// AuthResult is an Authenticator's answer. Build it with [Authenticated],
// [Redirect], [Challenge] or [NotMine]; set Reason to say why for the
// sign-in log.
type AuthResult struct {
	Outcome Outcome `json:"outcome"`
	// Identity is the caller (OutcomeAuthenticated).
	Identity Identity `json:"identity,omitzero"`
	// Location is where to send the client (OutcomeRedirect).
	Location string `json:"location,omitempty"`
	// State is kept by the gateway, sealed, until the client comes back to
	// the callback URL (OutcomeRedirect). At most MaxStateSize bytes.
	State []byte `json:"state,omitempty"`
	// Status, Header and Body are the response to send (OutcomeChallenge).
	Status int         `json:"status,omitempty"`
	Header http.Header `json:"header,omitempty"`
	Body   []byte      `json:"body,omitempty"`
	// Page, when set on a challenge, is what a browser is shown instead of
	// Body: the gateway draws it in its layout (see [Failure]).
	Page *Page `json:"page,omitempty"`
	// Reason is a short explanation for the logs, never shown to the client
	// and never a secret.
	Reason string `json:"reason,omitempty"`
}

// Authenticated is the result for a caller who is signed in as id.
func Authenticated(id Identity) AuthResult {
	return AuthResult{Outcome: OutcomeAuthenticated, Identity: id}
}

// Redirect sends the client to location (an identity provider's sign-in
// page, say). The gateway keeps state sealed in a cookie and gives it back
// in [AuthRequest.State] when the client returns to the callback URL.
func Redirect(location string, state []byte) AuthResult {
	return AuthResult{Outcome: OutcomeRedirect, Location: location, State: state}
}

// Challenge answers the client with status, header and body: a 401 with
// WWW-Authenticate for an API client, a sign-in form, a 403 page.
func Challenge(status int, header http.Header, body []byte) AuthResult {
	return AuthResult{Outcome: OutcomeChallenge, Status: status, Header: header, Body: body}
}

// NotMine says the request carries nothing this Authenticator handles (no
// API key header, say); the gateway decides what comes next.
func NotMine() AuthResult {
	return AuthResult{Outcome: OutcomeNotMine}
}

// Validate reports what is wrong with r, if anything. Both the plug-in (before it
// answers) and the host (before it trusts an answer) call it.
func (r AuthResult) Validate() error {
	switch r.Outcome {
	case OutcomeAuthenticated:
		if r.Identity.Subject == "" {
			return errors.New("an authenticated result needs Identity.Subject")
		}
	case OutcomeRedirect:
		if r.Location == "" {
			return errors.New("a redirect result needs a Location")
		}
		if err := checkHeaderValue(r.Location); err != nil {
			return fmt.Errorf("redirect Location: %w", err)
		}
		if len(r.State) > MaxStateSize {
			return fmt.Errorf("redirect State is %d bytes, more than the %d a cookie can carry", len(r.State), MaxStateSize)
		}
	case OutcomeChallenge:
		if r.Status < 200 || r.Status > 599 {
			return fmt.Errorf("a challenge needs an HTTP status between 200 and 599, not %d", r.Status)
		}
		if err := checkHeader(r.Header); err != nil {
			return fmt.Errorf("challenge Header: %w", err)
		}
		if err := r.Page.validate(); err != nil {
			return fmt.Errorf("challenge Page: %w", err)
		}
	case OutcomeNotMine:
	case "":
		return errors.New("empty result: return sdk.Authenticated, sdk.Redirect, sdk.Challenge or sdk.NotMine")
	default:
		return fmt.Errorf("unknown outcome %q", r.Outcome)
	}
	return nil
}
