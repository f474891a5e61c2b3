package wire

import goplugin "github.com/hashicorp/go-plugin"

// ProtocolVersion is the version of this protocol. It changes only when a
// change would break a plug-in or a host built against the previous one; new
// optional fields in request and response structs do not change it.
const ProtocolVersion = 1

// The magic cookie tells a plug-in binary that a Gatehouse host started it.
// It is not a secret: it only stops a plug-in from running as an ordinary
// program by mistake.
const (
	MagicCookieKey   = "GATEHOUSE_PLUGIN"
	MagicCookieValue = "c6b1d5e4-gatehouse-plugin-3f0a"
)

// Names of the plug-in kinds in go-plugin's plug-in set.
const (
	Authenticator = "authenticator"
	Injector      = "injector"
)

// Handshake is the go-plugin handshake for protocol version v.
func Handshake(v int) goplugin.HandshakeConfig {
	return goplugin.HandshakeConfig{
		ProtocolVersion:  uint(v),
		MagicCookieKey:   MagicCookieKey,
		MagicCookieValue: MagicCookieValue,
	}
}
