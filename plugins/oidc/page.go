package oidc

import (
	"strings"

	"github.com/gatehouse/gatehouse/sdk"
)

// providerWords says in words what an OAuth / OpenID Connect error code
// (RFC 6749 4.1.2.1, OpenID Connect Core 3.1.2.6) means for the person
// signing in: a page never shows the raw code (the sign-in log has it).
var providerWords = map[string]string{
	"access_denied":                     "The identity provider refused the sign-in, or it was cancelled there.",
	"login_required":                    "The identity provider needs you to sign in to it first.",
	"consent_required":                  "The identity provider needs your consent before it lets this app know who you are.",
	"interaction_required":              "The identity provider needs you to complete a step on its own page.",
	"account_selection_required":        "The identity provider needs you to choose an account.",
	"unmet_authentication_requirements": "Your sign-in did not meet what this app asks for, such as a second factor.",
	"temporarily_unavailable":           "The identity provider is busy or down for maintenance.",
	"server_error":                      "The identity provider had an internal error.",
	"invalid_request":                   "The identity provider did not accept this app's sign-in request. Tell your IT team: the app's settings at the identity provider need a look.",
	"unauthorized_client":               "The identity provider does not allow this app to sign people in this way. Tell your IT team.",
	"invalid_scope":                     "The identity provider does not offer what this app asks for. Tell your IT team.",
	"invalid_client":                    "The identity provider does not recognise this app. Tell your IT team.",
	"invalid_grant":                     "The sign-in code was used already or has expired.",
}

// failed is a Challenge with a page the gateway draws in its layout
// (with the request id): title and text for the user, reason for the
// sign-in log, and, in words, what the provider's error code means (the
// code itself stays in the log).
func failed(status int, reason, title, text, code string) sdk.AuthResult {
	if w, ok := providerWords[code]; ok {
		text = w + " " + text
	} else if code != "" && !strings.Contains(text, "identity provider") {
		text = "The identity provider did not sign you in. " + text
	}
	res := sdk.Failure(status, title, text)
	res.Reason = reason
	return res
}
