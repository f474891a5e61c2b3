package session

import (
	"encoding/json"
	"time"
)

// State is a sign-in in progress: what the Authenticator asked the gateway
// to keep, and where to send the user once signed in.
type State struct {
	// ID makes the state single-use: the gateway refuses a second
	// callback with the same ID.
	ID string `json:"i"`
	// Plugin is the Authenticator's own state (nonce, PKCE verifier, ...).
	Plugin []byte `json:"p,omitempty"`
	// Return is the path (and query) the user asked for.
	Return string `json:"r"`
	// Expires bounds how long a sign-in may take.
	Expires time.Time `json:"e"`
}

func statePurpose(app, host string) string { return "state\x00" + app + "\x00" + host }

// SealState seals st for app at host.
func (sl *Sealer) SealState(app, host string, st State) string {
	b, _ := json.Marshal(st) // plain fields: cannot fail
	return sl.Seal(statePurpose(app, host), b)
}

// OpenState opens a value from SealState for app at host, unexpired at now.
func (sl *Sealer) OpenState(app, host, value string, now time.Time) (State, error) {
	b, err := sl.Open(statePurpose(app, host), value)
	if err != nil {
		return State{}, err
	}
	var st State
	if err := json.Unmarshal(b, &st); err != nil {
		return State{}, ErrInvalid
	}
	if !now.Before(st.Expires) {
		return State{}, ErrExpired
	}
	return st, nil
}
