// Package s4u gets Kerberos service tickets in a user's name with nothing
// but the requesting service's keytab: Microsoft's constrained delegation
// with protocol transition (MS-SFU S4U2Self, then S4U2Proxy), and the SPNEGO
// token that presents such a ticket to an HTTP backend.
//
// It is built on the exported API of github.com/jcmturner/gokrb5/v8, which
// has no S4U. What it adds: the PA-FOR-USER padata, KDC option
// cname-in-addl-tkt, a TGS-REQ signed after its body is complete, a KDC
// exchange that checks the reply against a client other than the requester,
// and a TCP transport that honours a context.
//
// It keeps no ticket but the service's own TGT: gokrb5's client cache is
// keyed by SPN alone and would hand one user's ticket to the next caller, so
// caching tickets per (user, SPN) is the caller's job.
package s4u

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/jcmturner/gofork/encoding/asn1"
	"github.com/jcmturner/gokrb5/v8/config"
	"github.com/jcmturner/gokrb5/v8/credentials"
	"github.com/jcmturner/gokrb5/v8/iana/errorcode"
	"github.com/jcmturner/gokrb5/v8/iana/flags"
	"github.com/jcmturner/gokrb5/v8/iana/nametype"
	"github.com/jcmturner/gokrb5/v8/keytab"
	"github.com/jcmturner/gokrb5/v8/messages"
	"github.com/jcmturner/gokrb5/v8/types"
	"golang.org/x/sync/singleflight"
)

// DefaultTimeout bounds one TGT, S4U2Self or S4U2Proxy exchange, whoever
// waits for it.
const DefaultTimeout = 10 * time.Second

// Config is what a Client needs. Krb5, Keytab, Principal and Realm are
// required.
type Config struct {
	Krb5      *config.Config
	Keytab    *keytab.Keytab
	Principal types.PrincipalName // the service's own principal, without realm
	Realm     string              // the service's realm, also the users' realm
	// Timeout bounds each exchange with the KDC; 0 means DefaultTimeout.
	Timeout time.Duration
	// Now is the clock for ticket expiry; nil means time.Now.
	Now func() time.Time
	// Log receives TGT refreshes and their failures; nil discards them.
	Log *slog.Logger
}

// Client asks a KDC for tickets on behalf of one service. It is safe for
// concurrent use.
type Client struct {
	krb5      *config.Config
	keytab    *keytab.Keytab
	creds     *credentials.Credentials
	principal types.PrincipalName
	realm     string
	timeout   time.Duration
	now       func() time.Time
	log       *slog.Logger

	mu     sync.Mutex
	tgt    *Ticket
	flight singleflight.Group // "tgt": one AS exchange at a time
}

// New returns a Client for cfg. It does not talk to the KDC.
func New(cfg Config) (*Client, error) {
	if cfg.Krb5 == nil || cfg.Keytab == nil || len(cfg.Principal.NameString) == 0 || cfg.Realm == "" {
		return nil, fmt.Errorf("s4u.New: Krb5, Keytab, Principal and Realm are required")
	}
	c := &Client{
		krb5: cfg.Krb5, keytab: cfg.Keytab, principal: cfg.Principal, realm: cfg.Realm,
		creds:   credentials.NewFromPrincipalName(cfg.Principal, cfg.Realm).WithKeytab(cfg.Keytab),
		timeout: cfg.Timeout, now: cfg.Now, log: cfg.Log,
	}
	if c.timeout <= 0 {
		c.timeout = DefaultTimeout
	}
	if c.now == nil {
		c.now = time.Now
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	return c, nil
}

// Service is the client's own principal, name@REALM.
func (c *Client) Service() string { return c.principal.PrincipalNameString() + "@" + c.realm }

// Ticket is a ticket with its session key, as the KDC issued it. It is
// shared, and must not be changed once made.
type Ticket struct {
	Ticket    messages.Ticket
	Key       types.EncryptionKey
	CName     types.PrincipalName // the ticket's client
	CRealm    string
	SName     types.PrincipalName
	Flags     asn1.BitString
	StartTime time.Time // the KDC's clock
	EndTime   time.Time // the KDC's clock
	// RefreshAt and Expires are on the Client's clock: the ticket was valid
	// for EndTime-StartTime from when it arrived. Renew it from RefreshAt;
	// do not use it from Expires.
	RefreshAt time.Time
	Expires   time.Time

	parts partsOnce // what its tokens share, built by the first Negotiate
}

// newTicket records the ticket of a KDC reply, and when it arrived.
func (c *Client) newTicket(tkt messages.Ticket, enc messages.EncKDCRepPart, cname types.PrincipalName, crealm string) *Ticket {
	start := enc.StartTime
	if start.IsZero() {
		start = enc.AuthTime
	}
	life := max(enc.EndTime.Sub(start), 0)
	// Stop using a ticket a little before it ends, so it is still valid
	// when the backend reads it.
	margin := min(life/4, 2*time.Minute)
	now := c.now()
	return &Ticket{
		Ticket: tkt, Key: enc.Key, CName: cname, CRealm: crealm, SName: enc.SName, Flags: enc.Flags,
		StartTime: start, EndTime: enc.EndTime,
		RefreshAt: now.Add(life * 3 / 4), Expires: now.Add(life - margin),
	}
}

// Client is t's client as name@REALM.
func (t *Ticket) Client() string { return t.CName.PrincipalNameString() + "@" + t.CRealm }

// TGT is the service's TGT. A TGT past its RefreshAt is replaced in the
// background while it is still used; one past Expires is replaced before
// TGT returns.
func (c *Client) TGT(ctx context.Context) (*Ticket, error) {
	c.mu.Lock()
	t := c.tgt
	c.mu.Unlock()
	now := c.now()
	if t != nil && now.Before(t.RefreshAt) {
		return t, nil
	}
	ch := c.flight.DoChan("tgt", func() (any, error) {
		// The exchange outlives a caller that gives up: the next one needs it.
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.timeout)
		defer cancel()
		start := time.Now()
		nt, err := c.login(ctx)
		if err != nil {
			c.log.Warn("kcd: getting the service's TGT failed", "principal", c.Service(), "error", err)
			return nil, err
		}
		c.mu.Lock()
		c.tgt = nt
		c.mu.Unlock()
		c.log.Info("kcd: got the service's TGT", "principal", c.Service(), "ends", nt.EndTime, "took", time.Since(start).Round(time.Millisecond))
		return nt, nil
	})
	if t != nil && now.Before(t.Expires) {
		return t, nil // still good while the refresh runs
	}
	select {
	case r := <-ch:
		if r.Err != nil {
			return nil, r.Err
		}
		return r.Val.(*Ticket), nil
	case <-ctx.Done():
		return nil, fmt.Errorf("waiting for the service's TGT: %w", context.Cause(ctx))
	}
}

// dropTGT forgets t if it is still the current TGT, so the next call gets a
// new one.
func (c *Client) dropTGT(t *Ticket) {
	c.mu.Lock()
	if c.tgt == t {
		c.tgt = nil
	}
	c.mu.Unlock()
}

// User is a user to get tickets for: a plain name (NT-PRINCIPAL) or a UPN
// (NT-ENTERPRISE, resolved by the KDC), in the service's realm.
type User struct {
	Name       string
	Enterprise bool
}

func (u User) principal() types.PrincipalName {
	if u.Enterprise {
		return types.PrincipalName{NameType: nametype.KRB_NT_ENTERPRISE, NameString: []string{u.Name}}
	}
	return types.PrincipalName{NameType: nametype.KRB_NT_PRINCIPAL, NameString: []string{u.Name}}
}

// SPN parses "service/host" (the realm is the client's) into a principal
// name. It refuses a realm suffix and empty parts.
func SPN(s string) (types.PrincipalName, error) {
	parts := strings.Split(s, "/")
	if len(parts) < 2 || strings.Contains(s, "@") || strings.ContainsAny(s, " \t\r\n\x00") {
		return types.PrincipalName{}, fmt.Errorf("%q is not an SPN like HTTP/host.example.com", s)
	}
	for _, p := range parts {
		if p == "" {
			return types.PrincipalName{}, fmt.Errorf("%q is not an SPN like HTTP/host.example.com: an empty part", s)
		}
	}
	return types.PrincipalName{NameType: nametype.KRB_NT_SRV_INST, NameString: parts}, nil
}

// Delegate gets a ticket to spn in user's name: S4U2Self for a forwardable
// ticket to the service itself, then S4U2Proxy with that ticket as evidence.
// A KDC refusal is a *KDCError that says what to fix.
func (c *Client) Delegate(ctx context.Context, user User, spn types.PrincipalName) (*Ticket, error) {
	for attempt := 0; ; attempt++ {
		tgt, err := c.TGT(ctx)
		if err != nil {
			return nil, err
		}
		t, err := c.delegate(ctx, tgt, user, spn)
		if attempt == 0 && tgtRejected(err) {
			// The KDC no longer takes our TGT (its key changed, or our
			// clock thought it valid longer than the KDC's): get another.
			c.dropTGT(tgt)
			continue
		}
		return t, err
	}
}

func (c *Client) delegate(ctx context.Context, tgt *Ticket, user User, spn types.PrincipalName) (*Ticket, error) {
	self, err := c.Self(ctx, tgt, user)
	if err != nil {
		return nil, err
	}
	if !forwardable(self) {
		f := c.facts(self.Client(), nil)
		hint := notDelegableHint(f)
		if !forwardable(tgt) {
			hint = fmt.Sprintf("the service's own TGT is not forwardable: the KDC gives %s no forwardable tickets (AD: \"Account is sensitive and cannot be delegated\"; MIT: -allow_forwardable)", f.service)
		}
		return nil, &KDCError{Step: StepSelf, Kind: ErrNotDelegable, Subject: f.user,
			Hint: "the KDC issued a ticket that is not forwardable, so it cannot be delegated: " + hint}
	}
	return c.Proxy(ctx, tgt, self, spn)
}

// Self is S4U2Self: a ticket to the service itself in user's name.
func (c *Client) Self(ctx context.Context, tgt *Ticket, user User) (*Ticket, error) {
	cname := user.principal()
	f := c.facts(user.Name+"@"+c.realm, nil)
	pa, err := NewPAForUser(cname, c.realm, tgt.Key)
	if err != nil {
		return nil, fmt.Errorf("%s for %s: %w", StepSelf, f.user, err)
	}
	pad, err := pa.PAData()
	if err != nil {
		return nil, fmt.Errorf("%s for %s: %w", StepSelf, f.user, err)
	}
	// canonicalize: for a UPN, ask for the user's canonical name.
	body, err := c.tgsBody(c.principal, flags.Canonicalize)
	if err != nil {
		return nil, fmt.Errorf("%s for %s: %w", StepSelf, f.user, err)
	}
	req, err := c.signTGSReq(tgt, body, pad)
	if err != nil {
		return nil, fmt.Errorf("%s for %s: %w", StepSelf, f.user, err)
	}
	w := want{sname: c.principal, crealm: c.realm}
	if !user.Enterprise {
		w.cname = cname
	}
	return c.tgsExchange(ctx, StepSelf, f, tgt, req, w)
}

// Proxy is S4U2Proxy: a ticket to spn for the client of evidence, a
// forwardable ticket to the service (from Self).
func (c *Client) Proxy(ctx context.Context, tgt *Ticket, evidence *Ticket, spn types.PrincipalName) (*Ticket, error) {
	f := c.facts(evidence.Client(), &spn)
	body, err := c.tgsBody(spn, kdcOptCNameInAddlTkt)
	if err != nil {
		return nil, fmt.Errorf("%s for %s: %w", StepProxy, f.subject(StepProxy), err)
	}
	body.AdditionalTickets = []messages.Ticket{evidence.Ticket}
	req, err := c.signTGSReq(tgt, body)
	if err != nil {
		return nil, fmt.Errorf("%s for %s: %w", StepProxy, f.subject(StepProxy), err)
	}
	return c.tgsExchange(ctx, StepProxy, f, tgt, req, want{sname: spn, cname: evidence.CName, crealm: evidence.CRealm})
}

func (c *Client) facts(user string, spn *types.PrincipalName) facts {
	f := facts{service: c.Service(), user: user}
	if spn != nil {
		f.spn = spn.PrincipalNameString()
	}
	return f
}

// tgtRejected reports a KDC error that says the TGT itself is no good.
func tgtRejected(err error) bool {
	var kerr messages.KRBError
	if !errors.As(err, &kerr) {
		return false
	}
	switch kerr.ErrorCode {
	case errorcode.KRB_AP_ERR_TKT_EXPIRED, errorcode.KRB_AP_ERR_BAD_INTEGRITY, errorcode.KRB_AP_ERR_MODIFIED, errorcode.KRB_AP_ERR_BADKEYVER:
		return true
	}
	return false
}
