package sdk

import "time"

// Identity is who a caller is, as an Authenticator established it. The
// gateway signs it into the envelope that travels with each request to the
// connector, where an Injector receives it.
type Identity struct {
	// Subject is the stable, unique id of the user at the identity provider.
	// It is required.
	Subject string `json:"sub"`
	// UPN is the user principal name (user@REALM), used for Kerberos.
	UPN string `json:"upn,omitempty"`
	// Email is the user's e-mail address.
	Email string `json:"email,omitempty"`
	// Name is the display name.
	Name string `json:"name,omitempty"`
	// Groups are the names or ids of the user's groups.
	Groups []string `json:"groups,omitempty"`
	// AMR lists the authentication methods used ("pwd", "mfa", "hwk", ...).
	AMR []string `json:"amr,omitempty"`
	// Expiry is when the identity provider's assertion ends; zero means the
	// gateway's session lifetime applies.
	Expiry time.Time `json:"expiry,omitzero"`
	// Claims holds other attributes, as JSON values.
	Claims map[string]any `json:"claims,omitempty"`
}
