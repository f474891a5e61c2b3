package config

import "github.com/gatehouse/gatehouse/sdk/vault"

// Vault turns on the password vault for an app: users' credentials for
// the backend are kept sealed to the public key of the app's connector
// group, and handed to its vault sign-on plug-in with each request.
type Vault struct {
	// PublicKey is the connector group's vault key, base64, as
	// "gatehouse-connector vault-key" prints it.
	PublicKey string `yaml:"public_key"`
}

// checkVault validates an app's vault settings.
func (l *loader) checkVault(key string, a *App) {
	if !l.present(key+".vault") || l.bad[key+".vault"] {
		return
	}
	switch {
	case a.Auth.Passthrough:
		l.errorf(key+".vault", "the vault keeps credentials per signed-in user, but auth is passthrough; set auth to an Authenticator plug-in")
	case a.Vault.PublicKey == "":
		l.errorf(key+".vault.public_key", "missing: the connector group's vault public key (gatehouse-connector vault-key prints it)")
	default:
		if _, err := vault.PublicKey(a.Vault.PublicKey); err != nil {
			l.errorf(key+".vault.public_key", "%v; paste the line gatehouse-connector vault-key printed", err)
		}
	}
}
