package s4u

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"math"
	"math/big"
	"time"

	"github.com/jcmturner/gokrb5/v8/crypto"
	"github.com/jcmturner/gokrb5/v8/iana"
	"github.com/jcmturner/gokrb5/v8/iana/flags"
	"github.com/jcmturner/gokrb5/v8/iana/keyusage"
	"github.com/jcmturner/gokrb5/v8/iana/msgtype"
	"github.com/jcmturner/gokrb5/v8/iana/patype"
	"github.com/jcmturner/gokrb5/v8/messages"
	"github.com/jcmturner/gokrb5/v8/types"
)

// tgsBody is the body of a TGS-REQ from the service for sname, asking for
// a forwardable ticket plus the KDC options in opts. The body has no cname:
// RFC 4120 uses it in AS requests only.
func (c *Client) tgsBody(sname types.PrincipalName, opts ...int) (messages.KDCReqBody, error) {
	nonce, err := rand.Int(rand.Reader, big.NewInt(math.MaxInt32))
	if err != nil {
		return messages.KDCReqBody{}, fmt.Errorf("drawing a nonce: %w", err)
	}
	body := messages.KDCReqBody{
		KDCOptions: types.NewKrbFlags(),
		Realm:      c.realm,
		SName:      sname,
		Till:       time.Now().UTC().Add(c.krb5.LibDefaults.TicketLifetime),
		Nonce:      int(nonce.Int64()),
		EType:      c.krb5.LibDefaults.DefaultTGSEnctypeIDs,
	}
	types.SetFlag(&body.KDCOptions, flags.Forwardable)
	for _, o := range opts {
		types.SetFlag(&body.KDCOptions, o)
	}
	return body, nil
}

// signTGSReq wraps body into a TGS-REQ authenticated with the service's TGT:
// PA-TGS-REQ is an AP-REQ whose authenticator carries a checksum of the
// body, so it is computed last (messages.NewTGSReq computes it at once and
// cannot be used for a body that needs additional tickets).
func (c *Client) signTGSReq(tgt *Ticket, body messages.KDCReqBody, padata ...types.PAData) (messages.TGSReq, error) {
	b, err := body.Marshal()
	if err != nil {
		return messages.TGSReq{}, fmt.Errorf("encoding the TGS-REQ body: %w", err)
	}
	et, err := crypto.GetEtype(tgt.Key.KeyType)
	if err != nil {
		return messages.TGSReq{}, fmt.Errorf("TGT session key: %w", err)
	}
	sum, err := et.GetChecksumHash(tgt.Key.KeyValue, b, keyusage.TGS_REQ_PA_TGS_REQ_AP_REQ_AUTHENTICATOR_CHKSUM)
	if err != nil {
		return messages.TGSReq{}, fmt.Errorf("checksumming the TGS-REQ body: %w", err)
	}
	auth, err := types.NewAuthenticator(c.realm, c.principal)
	if err != nil {
		return messages.TGSReq{}, fmt.Errorf("making the TGS-REQ authenticator: %w", err)
	}
	auth.Cksum = types.Checksum{CksumType: et.GetHashID(), Checksum: sum}
	ap, err := messages.NewAPReq(tgt.Ticket, tgt.Key, auth)
	if err != nil {
		return messages.TGSReq{}, fmt.Errorf("making the PA-TGS-REQ: %w", err)
	}
	apb, err := ap.Marshal()
	if err != nil {
		return messages.TGSReq{}, fmt.Errorf("encoding the PA-TGS-REQ: %w", err)
	}
	return messages.TGSReq{KDCReqFields: messages.KDCReqFields{
		PVNO:    iana.PVNO,
		MsgType: msgtype.KRB_TGS_REQ,
		PAData:  append(types.PADataSequence{{PADataType: patype.PA_TGS_REQ, PADataValue: apb}}, padata...),
		ReqBody: body,
	}}, nil
}

// want is what a TGS-REP must say to be the answer to our request.
type want struct {
	sname  types.PrincipalName
	cname  types.PrincipalName // zero: any (an enterprise name the KDC canonicalises)
	crealm string
}

// tgsExchange sends req and checks the reply as TGSRep.Verify would, except
// that the reply's client is the user, not the requester (TGSRep.Verify,
// and so Client.TGSExchange, refuses every S4U reply for that reason).
func (c *Client) tgsExchange(ctx context.Context, step Step, f facts, tgt *Ticket, req messages.TGSReq, w want) (*Ticket, error) {
	b, err := req.Marshal()
	if err != nil {
		return nil, fmt.Errorf("%s: encoding the TGS-REQ: %w", step, err)
	}
	reply, err := send(ctx, c.krb5, c.realm, b)
	if err != nil {
		var kerr messages.KRBError
		if errors.As(err, &kerr) {
			return nil, classify(step, kerr, f)
		}
		return nil, fmt.Errorf("%s for %s: %w", step, f.subject(step), err)
	}
	var rep messages.TGSRep
	if err := rep.Unmarshal(reply); err != nil {
		return nil, fmt.Errorf("%s for %s: decoding the KDC's reply: %w", step, f.subject(step), err)
	}
	if err := rep.DecryptEncPart(tgt.Key); err != nil {
		return nil, fmt.Errorf("%s for %s: decrypting the KDC's reply: %w", step, f.subject(step), err)
	}
	enc := rep.DecryptedEncPart
	var problem string
	switch {
	case enc.Nonce != req.ReqBody.Nonce:
		problem = "its nonce is not the request's"
	case !enc.SName.Equal(w.sname) || enc.SRealm != c.realm:
		problem = fmt.Sprintf("it is for %s@%s, not %s@%s", enc.SName.PrincipalNameString(), enc.SRealm, w.sname.PrincipalNameString(), c.realm)
	case rep.CRealm != w.crealm:
		problem = fmt.Sprintf("its client realm is %s, not %s", rep.CRealm, w.crealm)
	case len(w.cname.NameString) > 0 && !rep.CName.Equal(w.cname):
		problem = fmt.Sprintf("its client is %s, not %s", rep.CName.PrincipalNameString(), w.cname.PrincipalNameString())
	case len(rep.CName.NameString) == 0:
		problem = "it names no client"
	}
	if problem != "" {
		return nil, fmt.Errorf("%s for %s: the KDC's reply does not answer the request: %s", step, f.subject(step), problem)
	}
	return c.newTicket(rep.Ticket, enc, rep.CName, rep.CRealm), nil
}

// forwardable reports whether t has the FORWARDABLE flag.
func forwardable(t *Ticket) bool { return types.IsFlagSet(&t.Flags, flags.Forwardable) }
