package signin

// Why a sign-in or a request was refused, as gatehouse_signin_denials_total
// counts it: an access rule (policy.Decision.Rule, e.g. access.groups), or
// one of these. A fixed list: a reason never comes from a client or a
// plug-in, whose words go to the sign-in log instead.
const (
	reasonRevoked       = "revoked"        // the credential predates a revocation, or is too old
	reasonChallenged    = "challenged"     // the plug-in refused the credential or asked for one
	reasonNoCredentials = "no_credentials" // nothing in the request says who it is
	reasonReplayed      = "replayed_state" // a sign-in answer used twice
	reasonExpiredState  = "expired_state"  // a sign-in answer too late or from elsewhere
	reasonSessionError  = "session_error"  // the identity was confirmed, no session could start
)

// count records an outcome (a sign-in log result) in the metrics, with
// the reason when it is a refusal ("" otherwise).
func (a *App) count(result, reason string) {
	a.Gate.Metrics.SignIn(a.Name, result, reason)
}
