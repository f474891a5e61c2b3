package saml

import (
	"strings"

	"github.com/gatehouse/gatehouse/sdk"
)

// statusWords says in words what the last part of a SAML status code URI
// (urn:oasis:names:tc:SAML:2.0:status:AuthnFailed) means for the person
// signing in: a page never shows the raw code (the sign-in log has it).
var statusWords = map[string]string{
	"AuthnFailed":              "The identity provider could not confirm who you are.",
	"RequestDenied":            "The identity provider refused the sign-in.",
	"NoPassive":                "The identity provider needs you to sign in to it first.",
	"NoAuthnContext":           "The identity provider could not sign you in the way this app asks for, such as with a second factor.",
	"UnknownPrincipal":         "The identity provider does not know your account.",
	"Responder":                "The identity provider had a problem with the sign-in.",
	"Requester":                "The identity provider did not accept this app's sign-in request. Tell your IT team.",
	"RequestUnsupported":       "The identity provider does not support this app's sign-in request. Tell your IT team.",
	"VersionMismatch":          "The identity provider does not support this app's sign-in request. Tell your IT team.",
	"InvalidNameIDPolicy":      "The identity provider cannot name you the way this app asks. Tell your IT team.",
	"UnsupportedBinding":       "The identity provider cannot answer this app the way it asks. Tell your IT team.",
	"ProxyCountExceeded":       "The identity provider could not pass the sign-in on.",
	"NoAvailableIDP":           "No identity provider was available to sign you in.",
	"PartialLogout":            "The identity provider could not sign you out everywhere.",
	"RequestVersionDeprecated": "The identity provider does not support this app's sign-in request. Tell your IT team.",
}

// failed is a Challenge with a page the gateway draws in its layout
// (with the request id): title and text for the user, reason for the
// sign-in log, and, in words, what the IdP's status code means (the code
// itself stays in the log).
func failed(status int, reason, title, text, code string) sdk.AuthResult {
	if w, ok := statusWords[code]; ok {
		text = w + " " + text
	} else if code != "" && !strings.Contains(text, "identity provider") {
		text = "The identity provider did not sign you in. " + text
	}
	res := sdk.Failure(status, title, text)
	res.Reason = reason
	return res
}
