package saml

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	crewjam "github.com/crewjam/saml"
	dsig "github.com/russellhaering/goxmldsig"

	"github.com/gatehouse/gatehouse/sdk"
)

// flowState is what a sign-in needs back at the callback. The gateway
// keeps it sealed in a cookie (sdk.AuthResult.State) and clears that
// cookie at the callback: the client can neither read, change nor reuse
// it, and this plug-in keeps nothing.
type flowState struct {
	RequestID string `json:"i"` // the AuthnRequest's ID: the Response must be InResponseTo it
	Issued    int64  `json:"t"` // when the AuthnRequest was made (Unix seconds)
}

// maxFlowAge bounds how long after the AuthnRequest its answer is taken.
// The gateway's state cookie lives shorter (10 minutes); this is the
// plug-in's own limit, and how long a used request id is remembered.
const maxFlowAge = time.Hour

// serviceProvider is the crewjam/saml service provider for the app at
// callback: entity id (the app's URL unless sp_entity_id says otherwise),
// assertion consumer service at the callback URL, and a clock frozen at
// now for this one request. idp may be nil when only the SP metadata is
// needed.
func (a *authenticator) serviceProvider(callback *url.URL, idp *crewjam.EntityDescriptor, now time.Time) *crewjam.ServiceProvider {
	metadataURL := *callback
	metadataURL.RawQuery = "metadata"
	entityID := a.cfg.SPEntityID
	if entityID == "" {
		entityID = callback.Scheme + "://" + callback.Host
	}
	sp := &crewjam.ServiceProvider{
		EntityID:          entityID,
		Key:               a.key,
		Certificate:       a.cert,
		MetadataURL:       metadataURL,
		AcsURL:            *callback,
		IDPMetadata:       idp,
		AuthnNameIDFormat: nameIDFormats[a.cfg.NameIDFormat],
		SignatureMethod:   a.sigAlg,
		// Only HTTP-POST: the HTTP-Artifact binding would have the
		// plug-in call the IdP back.
		AssertionConsumerServiceBindings: []string{crewjam.HTTPPostBinding},
		// IdPs that honour validUntil would refuse a saved copy of the
		// metadata after two days; cacheDuration says "ask again" instead.
		MetadataOmitValidUntil: true,
		Clock:                  dsig.NewFakeClockAt(now),
		RejectSHA1Signatures:   !a.cfg.AllowSHA1,
		ReplayCache:            a.seen,
	}
	if a.cfg.ForceAuthn {
		force := true
		sp.ForceAuthn = &force
	}
	return sp
}

// start sends a browser to the IdP with a signed AuthnRequest (HTTP-
// Redirect binding; the signature is in the query string, as the binding
// wants). Its id goes into the state the gateway keeps.
func (a *authenticator) start(ctx context.Context, callback *url.URL) (sdk.AuthResult, error) {
	now := a.now()
	sp := a.serviceProvider(callback, a.idp.get(ctx), now)
	sso := sp.GetSSOBindingLocation(crewjam.HTTPRedirectBinding)
	req, err := sp.MakeAuthenticationRequest(sso, crewjam.HTTPRedirectBinding, crewjam.HTTPPostBinding)
	if err != nil {
		return sdk.AuthResult{}, fmt.Errorf("making the AuthnRequest: %w", err)
	}
	location, err := req.Redirect("", sp)
	if err != nil {
		return sdk.AuthResult{}, fmt.Errorf("signing the AuthnRequest: %w", err)
	}
	state, err := json.Marshal(flowState{RequestID: req.ID, Issued: now.Unix()})
	if err != nil {
		return sdk.AuthResult{}, err
	}
	res := sdk.Redirect(location.String(), state)
	res.Reason = "sent to the SAML IdP " + sp.IDPMetadata.EntityID + " to sign in"
	return res, nil
}

// callback finishes a sign-in when the IdP posts its Response to the
// callback URL. Whatever the IdP or the client got wrong is a Challenge
// with a page that says so; nothing here is an error, as nothing here
// calls out.
func (a *authenticator) callback(ctx context.Context, req sdk.AuthRequest, callback *url.URL) (sdk.AuthResult, error) {
	if req.Method != http.MethodPost {
		return failed(http.StatusBadRequest, "callback with "+clip(req.Method)+", not the IdP's POST",
			"Sign-in failed", "This address takes the identity provider's answer, which a browser posts. Open the app again to sign in.", ""), nil
	}
	form, err := url.ParseQuery(string(req.Body))
	if err != nil {
		return failed(http.StatusBadRequest, "callback body is not a form: "+clip(err.Error()),
			"Sign-in failed", "The identity provider's answer cannot be read. Open the app again to start over.", ""), nil
	}
	if form.Get("SAMLart") != "" {
		return failed(http.StatusBadRequest, "the IdP used the HTTP-Artifact binding, which this plug-in does not take",
			"Sign-in failed", "The identity provider answered in a way this app does not accept. Tell your IT team: the IdP must use the HTTP-POST binding.", ""), nil
	}
	raw := form.Get("SAMLResponse")
	if raw == "" {
		return failed(http.StatusBadRequest, "callback without a SAMLResponse",
			"Sign-in failed", "The identity provider's answer is missing. Open the app again to start over.", ""), nil
	}
	if req.State == nil {
		return failed(http.StatusBadRequest, "SAMLResponse without a sign-in in progress (no state: replayed, IdP-initiated, or the state cookie expired)",
			"Sign-in expired", "This sign-in was not started here, was already used, or took too long. Open the app again to start over.", ""), nil
	}
	var st flowState
	if err := json.Unmarshal(req.State, &st); err != nil || st.RequestID == "" || st.Issued == 0 {
		return failed(http.StatusBadRequest, "callback with unreadable sign-in state",
			"Sign-in failed", "The sign-in could not be completed. Open the app again to start over.", ""), nil
	}
	now := a.now()
	switch issued := time.Unix(st.Issued, 0); {
	case now.Sub(issued) > maxFlowAge:
		return failed(http.StatusBadRequest, "sign-in state older than "+maxFlowAge.String(),
			"Sign-in expired", "This sign-in took too long. Open the app again to start over.", ""), nil
	case issued.After(now.Add(maxClockSkew)):
		return failed(http.StatusBadRequest, "sign-in state issued in the future ("+issued.UTC().Format(time.RFC3339)+"): check the gateways' clocks",
			"Sign-in failed", "The sign-in could not be completed. Open the app again to start over.", ""), nil
	}
	xmlResp, err := base64.StdEncoding.DecodeString(strings.TrimSpace(raw))
	if err != nil {
		return failed(http.StatusBadRequest, "SAMLResponse is not base64",
			"Sign-in failed", "The identity provider's answer cannot be read. Open the app again to start over.", ""), nil
	}
	sp := a.serviceProvider(callback, a.idp.get(ctx), now)
	assertion, err := sp.ParseXMLResponse(xmlResp, []string{st.RequestID}, *callback)
	if err != nil {
		return refused(err), nil
	}
	if reason := a.checkTimes(assertion, now); reason != "" {
		return failed(http.StatusUnauthorized, "SAML response refused (time window): "+reason,
			"Sign-in failed", refusedText, ""), nil
	}
	// The request id is answered once, here too: a copy of the sealed state
	// with another Response for the same request is refused on this node.
	if err := a.seen.Consume("request:"+st.RequestID, time.Unix(st.Issued, 0).Add(maxFlowAge)); err != nil {
		return failed(http.StatusBadRequest, "SAML request id "+st.RequestID+" answered before",
			"Sign-in expired", "This sign-in was already used. Open the app again to start over.", ""), nil
	}
	id, err := a.identity(assertion, now)
	if err != nil {
		return failed(http.StatusUnauthorized, "SAML assertion unusable: "+clip(err.Error()),
			"Sign-in failed", "The identity provider's answer does not say who you are in a way this app can use. Tell your IT team.", ""), nil
	}
	res := sdk.Authenticated(id)
	res.Reason = "signed in at the SAML IdP " + sp.IDPMetadata.EntityID
	return res, nil
}

// checkTimes applies clock_skew to the assertion's time conditions.
// crewjam/saml has checked them already with its own 3-minute allowance;
// this is the tighter one the config asks for.
func (a *authenticator) checkTimes(as *crewjam.Assertion, now time.Time) string {
	skew := a.cfg.ClockSkew
	if c := as.Conditions; c != nil {
		if !c.NotBefore.IsZero() && now.Add(skew).Before(c.NotBefore) {
			return fmt.Sprintf("Conditions NotBefore %s is in the future (allowed skew %v)", c.NotBefore.UTC().Format(time.RFC3339), skew)
		}
		if !c.NotOnOrAfter.IsZero() && !now.Add(-skew).Before(c.NotOnOrAfter) {
			return fmt.Sprintf("Conditions NotOnOrAfter %s has passed (allowed skew %v)", c.NotOnOrAfter.UTC().Format(time.RFC3339), skew)
		}
	}
	if as.IssueInstant.After(now.Add(skew)) {
		return fmt.Sprintf("IssueInstant %s is in the future (allowed skew %v)", as.IssueInstant.UTC().Format(time.RFC3339), skew)
	}
	// One bearer confirmation valid now is enough (crewjam/saml checked
	// which one is ours); its NotOnOrAfter is required.
	if as.Subject != nil {
		for _, sc := range as.Subject.SubjectConfirmations {
			if d := sc.SubjectConfirmationData; sc.Method == bearerMethod && d != nil && now.Add(-skew).Before(d.NotOnOrAfter) {
				return ""
			}
		}
	}
	return fmt.Sprintf("the SubjectConfirmationData NotOnOrAfter has passed (allowed skew %v)", skew)
}

const bearerMethod = "urn:oasis:names:tc:SAML:2.0:cm:bearer"

// refused is the answer to a Response that crewjam/saml refused: the
// IdP's own refusal (a status other than Success) is a 403 that shows its
// status code; a Response or assertion that fails a check is a 401 whose
// page says the same whatever the check (the log has the reason).
func refused(err error) sdk.AuthResult {
	detail := err
	if ire, ok := errors.AsType[*crewjam.InvalidResponseError](err); ok && ire.PrivateErr != nil {
		detail = ire.PrivateErr
	}
	if bad, ok := errors.AsType[crewjam.ErrBadStatus](detail); ok {
		code := bad.Status[strings.LastIndexByte(bad.Status, ':')+1:]
		return failed(http.StatusForbidden, "the SAML IdP answered with status "+clip(bad.Status), "Sign-in refused",
			"Open the app again to try once more.", code)
	}
	kind := "invalid"
	if strings.Contains(detail.Error(), "signature element not present") { // crewjam/saml does not export this one
		kind = "unsigned"
	}
	for _, k := range []struct {
		err  error
		name string
	}{
		{crewjam.ErrAssertionReplayed, "replayed"},
		{crewjam.ErrInvalidSignature, "bad signature"},
		{crewjam.ErrAudienceMismatch, "wrong audience"},
		{crewjam.ErrRequestIDMismatch, "InResponseTo mismatch"},
		{crewjam.ErrDestinationMismatch, "wrong destination or recipient"},
		{crewjam.ErrIssuerMismatch, "wrong issuer"},
		{crewjam.ErrExpired, "expired"},
		{crewjam.ErrNotYetValid, "not yet valid"},
		{crewjam.ErrMalformedMessage, "malformed"},
		{crewjam.ErrMissingElement, "incomplete"},
		{crewjam.ErrDecryptionFailed, "cannot decrypt"},
		{crewjam.ErrUnsupported, "unsupported"},
	} {
		if errors.Is(detail, k.err) {
			kind = k.name
			break
		}
	}
	return failed(http.StatusUnauthorized, "SAML response refused ("+kind+"): "+clip(detail.Error()),
		"Sign-in failed", refusedText, "")
}

// refusedText is the page for every Response that fails a check: which
// one is for the log only.
const refusedText = "The identity provider's answer did not pass Gatehouse's checks. Open the app again; tell your IT team if this happens again."
