package s4u

import (
	"errors"
	"fmt"
	"strings"

	"github.com/jcmturner/gokrb5/v8/iana/errorcode"
	"github.com/jcmturner/gokrb5/v8/messages"
)

// What a KDC refusal means, for errors.Is. Every *KDCError wraps one.
var (
	// ErrUnknownUser: the KDC knows no such user (or UPN).
	ErrUnknownUser = errors.New("unknown user")
	// ErrUserDisabled: the user's account is disabled, locked or expired.
	ErrUserDisabled = errors.New("user account disabled")
	// ErrNotDelegable: the KDC will not let the service act for this user:
	// the service is not trusted for protocol transition, or the user is
	// marked sensitive / not delegable.
	ErrNotDelegable = errors.New("protocol transition refused")
	// ErrNotInDelegationList: the service may not delegate to the SPN.
	ErrNotInDelegationList = errors.New("SPN not in the delegation list")
	// ErrUnknownSPN: the KDC has no principal for the SPN.
	ErrUnknownSPN = errors.New("unknown SPN")
	// ErrServiceAccount: the service's own account or keytab is the problem.
	ErrServiceAccount = errors.New("service account or keytab refused")
	// ErrClockSkew: the clocks of the KDC and this host differ too much.
	ErrClockSkew = errors.New("clock skew")
	// ErrKDC: any other refusal.
	ErrKDC = errors.New("KDC refused")
)

// Refused reports whether err is the KDC refusing this user or SPN
// outright (no such user or SPN, a disabled user, no delegation), as
// opposed to a network, clock or other problem. Tickets the KDC issued for
// them before should not be used any longer.
func Refused(err error) bool {
	for _, kind := range []error{ErrUnknownUser, ErrUserDisabled, ErrNotDelegable, ErrNotInDelegationList, ErrUnknownSPN} {
		if errors.Is(err, kind) {
			return true
		}
	}
	return false
}

// Step names the exchange with the KDC that failed.
type Step string

// The exchanges.
const (
	StepTGT   Step = "getting the service's TGT"
	StepSelf  Step = "S4U2Self"
	StepProxy Step = "S4U2Proxy"
)

// KDCError is a KDC's refusal, with what an operator can do about it.
type KDCError struct {
	Step Step
	// Code is the Kerberos error code; 0 when the KDC answered but the
	// answer cannot be used (a non-forwardable S4U2Self ticket).
	Code int32
	// Kind is one of the Err... values of this package.
	Kind error
	// Subject says who the step was for: "svc@R", "alice@R", "alice@R to HTTP/x".
	Subject string
	// Hint says what to check or change.
	Hint string
	// KRB is the KDC's own error, nil if there is none.
	KRB error
}

func (e *KDCError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s for %s: ", e.Step, e.Subject)
	if e.Code != 0 {
		fmt.Fprintf(&b, "KDC answered %s: ", codeName(e.Code))
	}
	b.WriteString(e.Hint)
	var kerr messages.KRBError
	if errors.As(e.KRB, &kerr) && kerr.EText != "" {
		fmt.Fprintf(&b, " (KDC says: %q)", kerr.EText)
	}
	return b.String()
}

// Unwrap gives errors.Is and errors.As the kind and the KDC's error.
func (e *KDCError) Unwrap() []error {
	if e.KRB == nil {
		return []error{e.Kind}
	}
	return []error{e.Kind, e.KRB}
}

// codeName is the symbolic name of a Kerberos error code, like
// "KDC_ERR_BADOPTION (13)".
func codeName(code int32) string {
	s := errorcode.Lookup(code) // "(13) KDC_ERR_BADOPTION KDC cannot ..."
	if _, rest, ok := strings.Cut(s, ") "); ok {
		name, _, _ := strings.Cut(rest, " ")
		return fmt.Sprintf("%s (%d)", name, code)
	}
	return fmt.Sprintf("error code %d", code)
}

// facts are the names a hint needs.
type facts struct {
	service string // the requesting service, principal@REALM
	user    string // the user, name@REALM
	spn     string // the target SPN
}

// classify turns the KDC's answer kerr to step into a *KDCError.
func classify(step Step, kerr messages.KRBError, f facts) *KDCError {
	e := &KDCError{Step: step, Code: kerr.ErrorCode, KRB: kerr, Kind: ErrKDC, Subject: f.subject(step)}
	switch kerr.ErrorCode {
	case errorcode.KRB_AP_ERR_SKEW:
		e.Kind, e.Hint = ErrClockSkew, "the clocks of this host and the KDC differ by more than the allowed skew (5 minutes by default); synchronise them (NTP)"
		return e
	}
	switch step {
	case StepTGT:
		switch kerr.ErrorCode {
		case errorcode.KDC_ERR_C_PRINCIPAL_UNKNOWN:
			e.Kind, e.Hint = ErrServiceAccount, fmt.Sprintf("the KDC has no principal %s; check the principal and realm settings", f.service)
		case errorcode.KDC_ERR_PREAUTH_FAILED, errorcode.KRB_AP_ERR_BAD_INTEGRITY:
			e.Kind, e.Hint = ErrServiceAccount, fmt.Sprintf("the keytab's key for %s is not the one the KDC has; the keytab is stale (was the account's password or key version changed?): export a new one", f.service)
		case errorcode.KDC_ERR_ETYPE_NOSUPP:
			e.Kind, e.Hint = ErrServiceAccount, fmt.Sprintf("the KDC accepts none of the encryption types of the keytab's keys for %s; export a keytab with AES keys (AD: set msDS-SupportedEncryptionTypes)", f.service)
		case errorcode.KDC_ERR_CLIENT_REVOKED, errorcode.KDC_ERR_NAME_EXP, errorcode.KDC_ERR_KEY_EXPIRED:
			e.Kind, e.Hint = ErrServiceAccount, fmt.Sprintf("the account %s is disabled, locked or expired", f.service)
		default:
			e.Hint = fmt.Sprintf("the KDC refused a TGT to %s", f.service)
		}
	case StepSelf:
		switch kerr.ErrorCode {
		case errorcode.KDC_ERR_C_PRINCIPAL_UNKNOWN:
			e.Kind, e.Hint = ErrUnknownUser, fmt.Sprintf("the KDC knows no user %s; check that the user exists in the directory and the app's identity setting (upn, upn_user or claim:NAME)", f.user)
		case errorcode.KDC_ERR_CLIENT_REVOKED, errorcode.KDC_ERR_NAME_EXP, errorcode.KDC_ERR_KEY_EXPIRED:
			e.Kind, e.Hint = ErrUserDisabled, fmt.Sprintf("the account of %s is disabled, locked or expired", f.user)
		case errorcode.KDC_ERR_BADOPTION, errorcode.KDC_ERR_POLICY:
			e.Kind, e.Hint = ErrNotDelegable, notDelegableHint(f)
		case errorcode.KDC_ERR_PADATA_TYPE_NOSUPP, errorcode.KDC_ERR_SUMTYPE_NOSUPP:
			e.Hint = "the KDC does not support S4U2Self (PA-FOR-USER); it needs Windows Server 2003 or later, MIT krb5 1.8 or later, or Samba 4"
		default:
			e.Hint = fmt.Sprintf("the KDC refused %s a ticket in the name of %s", f.service, f.user)
		}
	case StepProxy:
		switch kerr.ErrorCode {
		case errorcode.KDC_ERR_BADOPTION, errorcode.KDC_ERR_POLICY:
			e.Kind, e.Hint = ErrNotInDelegationList, fmt.Sprintf(
				"%s may not delegate to %s: add the SPN to its delegation list, spelt exactly as the app's spn setting (HTTP/host is not HTTP/host:port; AD: msDS-AllowedToDelegateTo, the Delegation tab; MIT: krbAllowedToDelegateTo), or the user is not delegable",
				f.service, f.spn)
		case errorcode.KDC_ERR_S_PRINCIPAL_UNKNOWN:
			e.Kind, e.Hint = ErrUnknownSPN, fmt.Sprintf("the KDC has no service principal %s; check the app's spn setting and that the backend's account has this SPN", f.spn)
		case errorcode.KDC_ERR_C_PRINCIPAL_UNKNOWN:
			e.Kind, e.Hint = ErrUnknownUser, fmt.Sprintf("the KDC knows no user %s", f.user)
		default:
			e.Hint = fmt.Sprintf("the KDC refused %s a ticket to %s in the name of %s", f.service, f.spn, f.user)
		}
	}
	return e
}

// notDelegableHint explains a refused or non-forwardable S4U2Self.
func notDelegableHint(f facts) string {
	return fmt.Sprintf("either %s is not trusted for protocol transition (AD: \"Trust this user for delegation to specified services only\" with \"Use any authentication protocol\"; MIT: +ok_to_auth_as_delegate) or %s is marked sensitive / not delegable (AD: \"Account is sensitive and cannot be delegated\" or Protected Users; MIT: -allow_forwardable)",
		f.service, f.user)
}

func (f facts) subject(step Step) string {
	switch step {
	case StepSelf:
		return f.user
	case StepProxy:
		return f.user + " to " + f.spn
	}
	return f.service
}
