package s4u

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jcmturner/gofork/encoding/asn1"
	"github.com/jcmturner/gokrb5/v8/asn1tools"
	"github.com/jcmturner/gokrb5/v8/gssapi"
	"github.com/jcmturner/gokrb5/v8/iana"
	"github.com/jcmturner/gokrb5/v8/iana/asnAppTag"
	"github.com/jcmturner/gokrb5/v8/iana/chksumtype"
	"github.com/jcmturner/gokrb5/v8/iana/keyusage"
	"github.com/jcmturner/gokrb5/v8/iana/msgtype"
	"github.com/jcmturner/gokrb5/v8/messages"
	"github.com/jcmturner/gokrb5/v8/spnego"
	"github.com/jcmturner/gokrb5/v8/types"
)

// tokenParts is what every SPNEGO token of one ticket has in common,
// worked out once: the keys derived from the session key, and the fields
// of the authenticator, the AP-REQ and the NegTokenInit that never change,
// as gokrb5 encodes them (the Ticket among them). Only the authenticator's
// time, sequence number and confounder change from token to token. It is
// read-only once built.
type tokenParts struct {
	crealm    string
	cname     types.PrincipalName
	authHead  asn1.RawValue // the authenticator's [0] to [3]: avno, crealm, cname, GSS checksum
	apHead    asn1.RawValue // the AP-REQ's [0] to [3]: pvno, msg-type, ap-options, ticket
	encHead   asn1.RawValue // its EncryptedData's [0] and [1]: etype, kvno
	initHead  asn1.RawValue // the NegTokenInit's [0] and [1]: mechTypes (KRB5), reqFlags
	seal      sealer
	krb5Head  []byte // DER of the KRB5 mechanism's OID, then TOK_ID 01 00
	spnegoOID []byte // DER of the SPNEGO OID that opens the GSS token

	// lastMicro is the time of the last authenticator, in microseconds
	// since the epoch: each token's (ctime, cusec) is later than the one
	// before, so that tokens minted in one burst (spares) never share
	// a timestamp, which an acceptor whose replay cache keys on client,
	// server and time would refuse as a replay.
	lastMicro atomic.Int64
}

// partsOnce builds a Ticket's tokenParts the first time a token is asked
// for. Tickets are shared through the plug-in's cache, so concurrent first
// calls wait for one build.
type partsOnce struct {
	once  sync.Once
	parts *tokenParts
	err   error
}

// tokenParts returns t's parts, building them on first use. A Ticket must
// not be changed once it has made a token.
func (t *Ticket) tokenParts() (*tokenParts, error) {
	t.parts.once.Do(func() { t.parts.parts, t.parts.err = newTokenParts(t) })
	return t.parts.parts, t.parts.err
}

// newTokenParts works out what t's tokens share. Every fixed field is cut
// from a whole authenticator, AP-REQ and NegTokenInit that gokrb5 itself
// encodes, so it is gokrb5's encoding byte for byte; the keys are derived
// by gokrb5's etypes.
func newTokenParts(t *Ticket) (*tokenParts, error) {
	if len(t.Ticket.SName.NameString) == 0 {
		return nil, errors.New("the ticket names no service")
	}
	p := &tokenParts{crealm: t.CRealm, cname: t.CName}
	var err error
	if p.seal, err = newSealer(t.Key, authenticatorUsage(t.Ticket.SName)); err != nil {
		return nil, fmt.Errorf("the session key: %w", err)
	}
	// As spnego.NewKRB5TokenAPREQ makes it, with NewNegTokenInitKRB5's
	// flags; the time and sequence number are the per-token fields.
	auth, err := types.NewAuthenticator(t.CRealm, t.CName)
	if err != nil {
		return nil, err
	}
	auth.Cksum = types.Checksum{CksumType: chksumtype.GSSAPI, Checksum: gssChecksum(gssapi.ContextFlagInteg | gssapi.ContextFlagConf)}
	ab, err := auth.Marshal()
	if err != nil {
		return nil, fmt.Errorf("encoding the authenticator: %w", err)
	}
	if p.authHead, _, err = fixedFields(ab, 4, 5, 7); err != nil {
		return nil, fmt.Errorf("the authenticator: %w", err)
	}
	// As messages.NewAPReq makes it; the encrypted authenticator is per token.
	ap := messages.APReq{PVNO: iana.PVNO, MsgType: msgtype.KRB_AP_REQ, APOptions: types.NewKrbFlags(), Ticket: t.Ticket,
		EncryptedAuthenticator: types.EncryptedData{EType: t.Key.KeyType, KVNO: t.Ticket.EncPart.KVNO, Cipher: []byte{0}}}
	apb, err := ap.Marshal()
	if err != nil {
		return nil, fmt.Errorf("encoding the AP-REQ: %w", err)
	}
	var apTail []asn1.RawValue
	if p.apHead, apTail, err = fixedFields(apb, 4); err != nil {
		return nil, fmt.Errorf("the AP-REQ: %w", err)
	}
	if len(apTail) != 1 {
		return nil, errors.New("the AP-REQ has no encrypted authenticator")
	}
	if p.encHead, _, err = fixedFields(apTail[0].FullBytes, 2); err != nil {
		return nil, fmt.Errorf("the AP-REQ's encrypted authenticator: %w", err)
	}
	// As spnego.NewNegTokenInitKRB5 makes it; the mechToken is per token.
	init := spnego.NegTokenInit{MechTypes: []asn1.ObjectIdentifier{gssapi.OIDKRB5.OID()}, MechTokenBytes: []byte{0}}
	ib, err := init.Marshal()
	if err != nil {
		return nil, fmt.Errorf("encoding the NegTokenInit: %w", err)
	}
	if p.initHead, _, err = fixedFields(ib, 2); err != nil {
		return nil, fmt.Errorf("the NegTokenInit: %w", err)
	}
	if p.krb5Head, err = asn1.Marshal(gssapi.OIDKRB5.OID()); err != nil {
		return nil, err
	}
	p.krb5Head = append(p.krb5Head, 0x01, 0x00) // spnego.TOK_ID_KRB_AP_REQ
	if p.spnegoOID, err = asn1.Marshal(gssapi.OIDSPNEGO.OID()); err != nil {
		return nil, err
	}
	return p, nil
}

// fixedFields decodes der, a SEQUENCE of context-tagged fields inside an
// APPLICATION or context tag, and returns its fields before the first
// per-token one as one raw value, to be written verbatim in their place,
// and the per-token ones as they are. perToken lists, in order, the tags
// the caller encodes itself; a field after them would be lost, so it is an
// error.
func fixedFields(der []byte, perToken ...int) (asn1.RawValue, []asn1.RawValue, error) {
	var v asn1.RawValue
	if _, err := asn1.Unmarshal(der, &v); err != nil {
		return v, nil, err
	}
	if _, err := asn1.Unmarshal(v.Bytes, &v); err != nil {
		return v, nil, err
	}
	if v.Class != asn1.ClassUniversal || v.Tag != asn1.TagSequence {
		return v, nil, fmt.Errorf("not a SEQUENCE but class %d tag %d", v.Class, v.Tag)
	}
	var fixed []byte
	var tail []asn1.RawValue
	for rest := v.Bytes; len(rest) > 0; {
		var f asn1.RawValue
		var err error
		if rest, err = asn1.Unmarshal(rest, &f); err != nil {
			return f, nil, err
		}
		switch {
		case f.Class != asn1.ClassContextSpecific:
			return f, nil, fmt.Errorf("unexpected field class %d tag %d", f.Class, f.Tag)
		case slices.Contains(perToken, f.Tag):
			tail = append(tail, f)
		case len(tail) > 0:
			return f, nil, fmt.Errorf("field [%d] after the per-token ones", f.Tag)
		default:
			fixed = append(fixed, f.FullBytes...)
		}
	}
	if len(fixed) == 0 {
		return v, nil, errors.New("no fixed fields")
	}
	return asn1.RawValue{FullBytes: fixed}, tail, nil
}

// authenticatorUsage is the key usage of an AP-REQ's authenticator, as
// gokrb5's messages.NewAPReq picks it: 7 in a TGS request (a ticket to
// krbtgt), 11 otherwise.
func authenticatorUsage(sname types.PrincipalName) uint32 {
	if len(sname.NameString) > 0 && sname.NameString[0] == "krbtgt" {
		return keyusage.TGS_REQ_PA_TGS_REQ_AP_REQ_AUTHENTICATOR
	}
	return keyusage.AP_REQ_AUTHENTICATOR
}

// gssChecksum is the authenticator checksum of RFC 4121 4.1.1 as gokrb5's
// spnego.NewKRB5TokenAPREQ writes it for flags without delegation: Lgth 16
// (little-endian), 16 zero bytes of channel bindings, then the context
// flags (little-endian).
func gssChecksum(flags uint32) []byte {
	b := make([]byte, 24)
	binary.LittleEndian.PutUint32(b[:4], 16)
	binary.LittleEndian.PutUint32(b[20:24], flags)
	return b
}

// The per-token encodings: each begins with its fixed fields, written
// verbatim, then the fields that change, as gokrb5's own types declare them
// (types.Authenticator, messages.APReq, types.EncryptedData, spnego's
// marshalNegTokenInit). Byte strings go in as raw values (see octets).
type (
	authenticatorTail struct {
		Head      asn1.RawValue
		Cusec     int       `asn1:"explicit,tag:4"`
		CTime     time.Time `asn1:"generalized,explicit,tag:5"`
		SeqNumber int64     `asn1:"explicit,optional,tag:7"`
	}
	encryptedDataTail struct {
		Head   asn1.RawValue
		Cipher asn1.RawValue
	}
	apReqTail struct {
		Head                   asn1.RawValue
		EncryptedAuthenticator encryptedDataTail `asn1:"explicit,tag:4"`
	}
	negTokenInitTail struct {
		Head           asn1.RawValue
		MechTokenBytes asn1.RawValue
	}
)

// token makes one SPNEGO NegTokenInit: a fresh authenticator (time now and
// a random sequence number, from gokrb5's types.NewAuthenticator) sealed
// with the cached keys and a fresh confounder, in an AP-REQ, in the KRB5
// and SPNEGO framing, each encoded by gofork around its cached fields.
func (p *tokenParts) token() ([]byte, error) {
	fresh, err := types.NewAuthenticator(p.crealm, p.cname)
	if err != nil {
		return nil, fmt.Errorf("making the authenticator: %w", err)
	}
	ctime, cusec := p.stamp(fresh.CTime)
	ab, err := asn1.Marshal(authenticatorTail{Head: p.authHead, Cusec: cusec, CTime: ctime, SeqNumber: fresh.SeqNumber})
	if err != nil {
		return nil, fmt.Errorf("encoding the authenticator: %w", err)
	}
	ct, err := p.seal.seal(asn1tools.AddASNAppTag(ab, asnAppTag.Authenticator))
	if err != nil {
		return nil, fmt.Errorf("encrypting the authenticator: %w", err)
	}
	cipher, err := octets(2, ct)
	if err != nil {
		return nil, fmt.Errorf("encoding the AP-REQ: %w", err)
	}
	ap, err := asn1.Marshal(apReqTail{Head: p.apHead, EncryptedAuthenticator: encryptedDataTail{Head: p.encHead, Cipher: cipher}})
	if err != nil {
		return nil, fmt.Errorf("encoding the AP-REQ: %w", err)
	}
	ap = asn1tools.AddASNAppTag(ap, asnAppTag.APREQ)
	// As spnego.KRB5Token.Marshal frames it.
	mech := make([]byte, 0, len(p.krb5Head)+len(ap))
	mech = asn1tools.AddASNAppTag(append(append(mech, p.krb5Head...), ap...), 0)
	mt, err := octets(2, mech)
	if err != nil {
		return nil, fmt.Errorf("encoding the NegTokenInit: %w", err)
	}
	nb, err := asn1.Marshal(negTokenInitTail{Head: p.initHead, MechTokenBytes: mt})
	if err != nil {
		return nil, fmt.Errorf("encoding the NegTokenInit: %w", err)
	}
	// As spnego.NegTokenInit.Marshal and SPNEGOToken.Marshal wrap it.
	if nb, err = asn1.Marshal(asn1.RawValue{Class: asn1.ClassContextSpecific, IsCompound: true, Tag: 0, Bytes: nb}); err != nil {
		return nil, fmt.Errorf("encoding the NegTokenInit: %w", err)
	}
	gss := make([]byte, 0, len(p.spnegoOID)+len(nb))
	return asn1tools.AddASNAppTag(append(append(gss, p.spnegoOID...), nb...), 0), nil
}

// stamp returns the authenticator time for now: now to the microsecond,
// or one microsecond after the ticket's last token when that is not
// earlier, as the whole seconds (KerberosTime) and the microseconds.
func (p *tokenParts) stamp(now time.Time) (time.Time, int) {
	us := now.UnixMicro()
	for {
		last := p.lastMicro.Load()
		next := max(us, last+1)
		if p.lastMicro.CompareAndSwap(last, next) {
			return time.Unix(next/1e6, 0).UTC(), int(next % 1e6)
		}
	}
}

// octets is b as an OCTET STRING in explicit context tag [tag]: what gofork
// makes of a []byte field tagged `asn1:"explicit,tag:N"`, without going
// through the bytes one by one by reflection as it does for those.
func octets(tag int, b []byte) (asn1.RawValue, error) {
	o, err := asn1.Marshal(asn1.RawValue{Class: asn1.ClassUniversal, Tag: asn1.TagOctetString, Bytes: b})
	if err != nil {
		return asn1.RawValue{}, err
	}
	return asn1.RawValue{Class: asn1.ClassContextSpecific, IsCompound: true, Tag: tag, Bytes: o}, nil
}
