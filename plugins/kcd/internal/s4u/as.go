package s4u

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/jcmturner/gokrb5/v8/crypto"
	"github.com/jcmturner/gokrb5/v8/iana/errorcode"
	"github.com/jcmturner/gokrb5/v8/iana/flags"
	"github.com/jcmturner/gokrb5/v8/iana/keyusage"
	"github.com/jcmturner/gokrb5/v8/iana/patype"
	"github.com/jcmturner/gokrb5/v8/messages"
	"github.com/jcmturner/gokrb5/v8/types"
)

// login gets the service's TGT with its keytab: an AS exchange with
// encrypted-timestamp pre-authentication sent at once (the KDC would ask for
// it anyway), retried once with the encryption type the KDC names if it
// refuses the first. It is gokrb5's Client.ASExchange with the context
// honoured and the KDC's error kept, so it can be explained.
func (c *Client) login(ctx context.Context) (*Ticket, error) {
	f := c.facts("", nil)
	req, err := messages.NewASReqForTGT(c.realm, c.krb5, c.principal)
	if err != nil {
		return nil, fmt.Errorf("%s for %s: making the AS-REQ: %w", StepTGT, f.service, err)
	}
	// Whatever krb5.conf says: a TGT that is not forwardable yields
	// S4U2Self tickets that are not either, and those cannot be delegated.
	types.SetFlag(&req.ReqBody.KDCOptions, flags.Forwardable)
	etype, err := c.keytabEtype(req.ReqBody.EType)
	if err != nil {
		return nil, err
	}
	for attempt := 0; ; attempt++ {
		if err := c.setEncTimestamp(&req, etype); err != nil {
			return nil, fmt.Errorf("%s for %s: %w", StepTGT, f.service, err)
		}
		b, err := req.Marshal()
		if err != nil {
			return nil, fmt.Errorf("%s for %s: encoding the AS-REQ: %w", StepTGT, f.service, err)
		}
		reply, err := send(ctx, c.krb5, c.realm, b)
		var kerr messages.KRBError
		if errors.As(err, &kerr) {
			if next := hintedEtype(kerr); attempt == 0 && next != 0 && next != etype && c.hasKey(next) {
				etype = next
				continue
			}
			return nil, classify(StepTGT, kerr, f)
		}
		if err != nil {
			return nil, fmt.Errorf("%s for %s: %w", StepTGT, f.service, err)
		}
		var rep messages.ASRep
		if err := rep.Unmarshal(reply); err != nil {
			return nil, fmt.Errorf("%s for %s: decoding the AS-REP: %w", StepTGT, f.service, err)
		}
		if ok, err := rep.Verify(c.krb5, c.creds, req); !ok {
			return nil, fmt.Errorf("%s for %s: the AS-REP does not verify (is the keytab's key current?): %w", StepTGT, f.service, err)
		}
		return c.newTicket(rep.Ticket, rep.DecryptedEncPart, rep.CName, rep.CRealm), nil
	}
}

// setEncTimestamp puts PA-ENC-TIMESTAMP, encrypted with the keytab's key of
// etype, into req, replacing an earlier one.
func (c *Client) setEncTimestamp(req *messages.ASReq, etype int32) error {
	key, kvno, err := c.keytab.GetEncryptionKey(c.principal, c.realm, 0, etype)
	if err != nil {
		return fmt.Errorf("keytab: %w", err)
	}
	ts, err := types.GetPAEncTSEncAsnMarshalled()
	if err != nil {
		return fmt.Errorf("encoding the pre-authentication timestamp: %w", err)
	}
	ed, err := crypto.GetEncryptedData(ts, key, keyusage.AS_REQ_PA_ENC_TIMESTAMP, kvno)
	if err != nil {
		return fmt.Errorf("encrypting the pre-authentication timestamp: %w", err)
	}
	b, err := ed.Marshal()
	if err != nil {
		return fmt.Errorf("encoding the pre-authentication timestamp: %w", err)
	}
	req.PAData = types.PADataSequence{{PADataType: patype.PA_ENC_TIMESTAMP, PADataValue: b}}
	return nil
}

// keytabEtype is the first encryption type of prefs the keytab has a key of
// for the service.
func (c *Client) keytabEtype(prefs []int32) (int32, error) {
	for _, e := range prefs {
		if c.hasKey(e) {
			return e, nil
		}
	}
	return 0, &KDCError{Step: StepTGT, Kind: ErrServiceAccount, Subject: c.facts("", nil).service,
		Hint: fmt.Sprintf("the keytab has no key for it of an encryption type krb5.conf allows (%v)", prefs)}
}

func (c *Client) hasKey(etype int32) bool {
	_, _, err := c.keytab.GetEncryptionKey(c.principal, c.realm, 0, etype)
	return err == nil
}

// hintedEtype is the encryption type a pre-authentication error's
// ETYPE-INFO2 asks for, 0 if none.
func hintedEtype(kerr messages.KRBError) int32 {
	switch kerr.ErrorCode {
	case errorcode.KDC_ERR_PREAUTH_REQUIRED, errorcode.KDC_ERR_PREAUTH_FAILED, errorcode.KDC_ERR_ETYPE_NOSUPP:
	default:
		return 0
	}
	var pas types.PADataSequence
	if len(kerr.EData) == 0 || pas.Unmarshal(kerr.EData) != nil {
		return 0
	}
	i := slices.IndexFunc(pas, func(pa types.PAData) bool { return pa.PADataType == patype.PA_ETYPE_INFO2 })
	if i < 0 {
		return 0
	}
	info, err := pas[i].GetETypeInfo2()
	if err != nil || len(info) == 0 {
		return 0
	}
	return info[0].EType
}
