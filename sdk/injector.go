package sdk

import (
	"context"
	"fmt"
	"net/http"
	"time"
)

// An Injector turns an established identity into what an app's backend
// accepts: identity headers, a signed assertion, a Kerberos ticket, stored
// credentials. It runs at the connector, once per app that uses it, for
// every request to that app, unless its result says the connector may
// reuse it for the session (InjectResult.ReuseFor).
type Injector interface {
	Inject(ctx context.Context, req InjectRequest) (InjectResult, error)
}

// InjectRequest is a request on its way to the backend.
type InjectRequest struct {
	// Identity is the caller, as the gateway signed it.
	Identity Identity `json:"identity"`
	// Method is the HTTP method.
	Method string `json:"method"`
	// URL is the backend URL the connector is about to call.
	URL string `json:"url"`
	// Header is the request's header as the connector will send it.
	Header http.Header `json:"header,omitempty"`
	// Secret is what the gateway keeps sealed for this user and app, if
	// anything: for the password vault, credentials sealed with package
	// sdk/vault to a key only the connectors hold. The host passes it on
	// unread, and only to a plug-in that declared [CapabilityCredentials];
	// for any other it is always empty.
	Secret []byte `json:"secret,omitempty"`
	// SessionExpires is when the user's session ends (the identity
	// envelope's expiry, never later than Identity.Expiry when that is
	// set). Nothing derived from this request should outlive it. Zero from
	// a host older than this field.
	SessionExpires time.Time `json:"session_expires,omitzero"`
	// Spares is how many spare one-time results the host would take from
	// this call (0 to [MaxSpares]); see InjectResult.Spares. Zero from a
	// host older than this field, or when it wants none.
	Spares int `json:"spares,omitempty"`
}

// MaxSpares bounds InjectRequest.Spares and InjectResult.Spares.
const MaxSpares = 32

// InjectResult is how to change the request's header: every header named in
// Remove is deleted (all copies), then every header in Set is set, replacing
// any value. An Injector removes every header it sets, so a client can
// never smuggle in a copy of its own.
type InjectResult struct {
	Remove []string    `json:"remove,omitempty"`
	Set    http.Header `json:"set,omitempty"`
	// ReuseFor lets the host apply this same result to the same session's
	// later requests to the same app for this long, without calling Inject
	// (never past the session's expiry; a config change, a full cache or a
	// status in ForgetOn end it sooner). Set it only when the result
	// depends on nothing but the identity: not for one-time tokens such as
	// a Kerberos authenticator, which a backend refuses to see twice. Zero
	// (what a plug-in that never heard of it sends) means every request
	// calls Inject.
	ReuseFor time.Duration `json:"reuse_for,omitempty"`
	// ForgetOn lists backend statuses (400 to 599) that end the reuse of
	// this result: when the backend answers a request that carried it with
	// one of them, the host forgets it, and the session's next request
	// calls Inject again. The answer itself still goes to the client. For
	// example []int{401} for an assertion the backend may stop accepting.
	// With Spares, such a status drops the session's remaining spares.
	// Meaningful only with ReuseFor or Spares.
	ForgetOn []int `json:"forget_on,omitempty"`
	// AskCredentials says the user must enter (new) credentials for the
	// app: there are none, or the backend refused them. The request does
	// not go to the backend; the gateway shows its credentials page. Only
	// a plug-in that declared [CapabilityCredentials] may set it.
	AskCredentials bool `json:"ask_credentials,omitempty"`
	// RejectStatus, when not 0, is the backend status that means it
	// refused the injected credentials (401 for Basic): the connector then
	// answers as for AskCredentials instead of relaying the response. Only
	// a plug-in that declared [CapabilityCredentials] may set it.
	RejectStatus int `json:"reject_status,omitempty"`
	// Spares are extra one-time results for the same session and app,
	// made when the request asked for them (InjectRequest.Spares): each is
	// a complete alternative to Set, applied with the same Remove (and
	// ForgetOn, RejectStatus) to exactly one later request of the session,
	// instead of calling Inject for it. Use them for one-time tokens that
	// depend on nothing but the identity, such as a Kerberos
	// authenticator made from a cached ticket: a backend's replay cache
	// sees each only once. Never for anything bound to a request (its
	// method, URL, header or body, a nonce the backend chose). At most
	// InjectRequest.Spares of them; a host ignores them all when there are
	// more, or when one is invalid or too large, and the request still gets
	// Set. A result with ReuseFor needs none: they are ignored. A host
	// older than this field ignores them.
	Spares []http.Header `json:"spares,omitempty"`
	// SparesFor is how long Spares stay usable from now; the host caps it
	// (at two minutes) and never keeps a spare past the session's expiry.
	// Zero means the spares are not used.
	SparesFor time.Duration `json:"spares_for,omitempty"`
}

// MaxForgetOn bounds InjectResult.ForgetOn.
const MaxForgetOn = 8

// Apply changes h as r says.
func (r InjectResult) Apply(h http.Header) {
	for _, name := range r.Remove {
		h.Del(name)
	}
	for name, values := range r.Set {
		h.Del(name)
		for _, v := range values {
			h.Add(name, v)
		}
	}
}

// Validate reports a header name or value that must not reach a backend
// (not an HTTP token, or a value with CR, LF or NUL), in Set or in any of
// Spares, and fields out of their bounds.
func (r InjectResult) Validate() error {
	if r.ReuseFor < 0 {
		return fmt.Errorf("ReuseFor is negative (%v)", r.ReuseFor)
	}
	if len(r.ForgetOn) > MaxForgetOn {
		return fmt.Errorf("ForgetOn lists %d statuses, more than %d", len(r.ForgetOn), MaxForgetOn)
	}
	for _, st := range r.ForgetOn {
		if st < 400 || st > 599 {
			return fmt.Errorf("ForgetOn: status %d is not between 400 and 599", st)
		}
	}
	for _, name := range r.Remove {
		if err := checkHeaderName(name); err != nil {
			return fmt.Errorf("Remove: %w", err)
		}
	}
	if err := checkHeader(r.Set); err != nil {
		return fmt.Errorf("Set: %w", err)
	}
	if r.SparesFor < 0 {
		return fmt.Errorf("SparesFor is negative (%v)", r.SparesFor)
	}
	if len(r.Spares) > MaxSpares {
		return fmt.Errorf("Spares holds %d results, more than %d", len(r.Spares), MaxSpares)
	}
	for i, h := range r.Spares {
		if err := checkHeader(h); err != nil {
			return fmt.Errorf("Spares[%d]: %w", i, err)
		}
	}
	return nil
}
