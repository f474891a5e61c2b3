package s4u

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jcmturner/gofork/encoding/asn1"
	"github.com/jcmturner/gokrb5/v8/asn1tools"
	"github.com/jcmturner/gokrb5/v8/client"
	"github.com/jcmturner/gokrb5/v8/credentials"
	"github.com/jcmturner/gokrb5/v8/crypto"
	"github.com/jcmturner/gokrb5/v8/gssapi"
	"github.com/jcmturner/gokrb5/v8/iana/asnAppTag"
	"github.com/jcmturner/gokrb5/v8/iana/chksumtype"
	"github.com/jcmturner/gokrb5/v8/iana/etypeID"
	"github.com/jcmturner/gokrb5/v8/iana/flags"
	"github.com/jcmturner/gokrb5/v8/iana/keyusage"
	"github.com/jcmturner/gokrb5/v8/iana/nametype"
	"github.com/jcmturner/gokrb5/v8/keytab"
	"github.com/jcmturner/gokrb5/v8/messages"
	"github.com/jcmturner/gokrb5/v8/service"
	"github.com/jcmturner/gokrb5/v8/spnego"
	"github.com/jcmturner/gokrb5/v8/types"
)

// negotiateGokrb5 is the reference: the token made entirely by gokrb5
// (spnego.NewNegTokenInitKRB5, SPNEGOToken.Marshal), as Negotiate made it
// before it kept the parts that do not change.
func negotiateGokrb5(t *Ticket) (string, error) {
	user := &client.Client{Credentials: credentials.NewFromPrincipalName(t.CName, t.CRealm)}
	nt, err := spnego.NewNegTokenInitKRB5(user, t.Ticket, t.Key)
	if err != nil {
		return "", err
	}
	tok := spnego.SPNEGOToken{Init: true, NegTokenInit: nt}
	b, err := tok.Marshal()
	if err != nil {
		return "", err
	}
	return "Negotiate " + base64.StdEncoding.EncodeToString(b), nil
}

const (
	testRealm = "EXAMPLE.TEST"
	testSPN   = "HTTP/backend.example.test"
	testKVNO  = 3
)

// The enctypes a KDC may pick for a service ticket's session key: the AES
// ones take the cached-key path, RC4-HMAC and DES3 gokrb5's per-message one.
var testEtypes = []int32{etypeID.AES256_CTS_HMAC_SHA1_96, etypeID.AES128_CTS_HMAC_SHA1_96,
	etypeID.AES128_CTS_HMAC_SHA256_128, etypeID.AES256_CTS_HMAC_SHA384_192, etypeID.RC4_HMAC, etypeID.DES3_CBC_SHA1_KD}

var (
	testKeytabOnce sync.Once
	testKeytab     *keytab.Keytab
	testKeytabErr  error
)

// serviceKeytab is the backend's keytab, a key for every test enctype.
func serviceKeytab(tb testing.TB) *keytab.Keytab {
	tb.Helper()
	testKeytabOnce.Do(func() {
		kt := keytab.New()
		for _, e := range testEtypes {
			if err := kt.AddEntry(testSPN, testRealm, "backend secret", time.Now(), testKVNO, e); err != nil {
				testKeytabErr = fmt.Errorf("keytab entry for etype %d: %w", e, err)
				return
			}
		}
		testKeytab = kt
	})
	if testKeytabErr != nil {
		tb.Fatal(testKeytabErr)
	}
	return testKeytab
}

// serviceTicket is a ticket to testSPN for cname@crealm, made as a KDC
// would (messages.NewTicket), with a session key of the given enctype.
func serviceTicket(tb testing.TB, e int32, cname types.PrincipalName, crealm string, tflags asn1.BitString) (*Ticket, error) {
	tb.Helper()
	sname, _ := types.ParseSPNString(testSPN)
	now := time.Now().UTC()
	var tkt messages.Ticket
	var key types.EncryptionKey
	var err error
	if e == etypeID.AES256_CTS_HMAC_SHA384_192 {
		// gokrb5 sizes a random key by GetKeyByteSize, 24 bytes for this
		// enctype, whose protocol keys are 32 (RFC 8009 5); such a key
		// cannot encrypt, so this ticket is made as NewTicket makes one but
		// with a 32-byte session key.
		tkt, key, err = ticket384(tb, cname, crealm, sname, tflags, now)
	} else {
		tkt, key, err = messages.NewTicket(cname, crealm, sname, testRealm, tflags, serviceKeytab(tb), e, testKVNO,
			now, now.Add(-time.Minute), now.Add(time.Hour), now.Add(time.Hour))
	}
	if err != nil {
		return nil, err
	}
	return &Ticket{Ticket: tkt, Key: key, CName: cname, CRealm: crealm, SName: sname, Flags: tflags}, nil
}

func ticket384(tb testing.TB, cname types.PrincipalName, crealm string, sname types.PrincipalName, tflags asn1.BitString, now time.Time) (messages.Ticket, types.EncryptionKey, error) {
	e := etypeID.AES256_CTS_HMAC_SHA384_192
	key := types.EncryptionKey{KeyType: e, KeyValue: make([]byte, 32)}
	rand.Read(key.KeyValue)
	b, err := asn1.Marshal(messages.EncTicketPart{Flags: tflags, Key: key, CRealm: crealm, CName: cname,
		AuthTime: now, StartTime: now.Add(-time.Minute), EndTime: now.Add(time.Hour), RenewTill: now.Add(time.Hour)})
	if err != nil {
		return messages.Ticket{}, key, err
	}
	skey, _, err := serviceKeytab(tb).GetEncryptionKey(sname, testRealm, testKVNO, e)
	if err != nil {
		return messages.Ticket{}, key, err
	}
	ed, err := crypto.GetEncryptedData(asn1tools.AddASNAppTag(b, asnAppTag.EncTicketPart), skey, keyusage.KDC_REP_TICKET, testKVNO)
	return messages.Ticket{TktVNO: 5, Realm: testRealm, SName: sname, EncPart: ed}, key, err
}

// decoded is a token as the backend reads it, with gokrb5.
type decoded struct {
	spnego spnego.SPNEGOToken
	mech   spnego.KRB5Token
	ticket []byte // the ticket as the AP-REQ carries it, re-encoded
	auth   types.Authenticator
	plain  []byte // the authenticator's encoding, decrypted
	client types.PrincipalName
	crealm string
}

func decode(tb testing.TB, header string, key types.EncryptionKey) decoded {
	tb.Helper()
	var d decoded
	b64, ok := strings.CutPrefix(header, "Negotiate ")
	if !ok {
		tb.Fatalf("header %q", header)
	}
	raw, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		tb.Fatal(err)
	}
	if err := d.spnego.Unmarshal(raw); err != nil || !d.spnego.Init {
		tb.Fatalf("SPNEGO token: init %v, %v", d.spnego.Init, err)
	}
	if err := d.mech.Unmarshal(d.spnego.NegTokenInit.MechTokenBytes); err != nil || !d.mech.IsAPReq() {
		tb.Fatalf("KRB5 token: AP-REQ %v, %v", d.mech.IsAPReq(), err)
	}
	// gokrb5 encodes what it decoded to the same bytes: the envelopes and
	// the AP-REQ (ticket and encrypted authenticator) are its encoding.
	if again, err := d.spnego.Marshal(); err != nil || !bytes.Equal(again, raw) {
		tb.Errorf("SPNEGO token re-encoded by gokrb5 (%v)\n%x\nsent\n%x", err, again, raw)
	}
	if again, err := d.mech.Marshal(); err != nil || !bytes.Equal(again, d.spnego.NegTokenInit.MechTokenBytes) {
		tb.Errorf("KRB5 token re-encoded by gokrb5 (%v)\n%x\nsent\n%x", err, again, d.spnego.NegTokenInit.MechTokenBytes)
	}
	ap := &d.mech.APReq
	if d.ticket, err = ap.Ticket.Marshal(); err != nil {
		tb.Fatal(err)
	}
	if d.plain, err = crypto.DecryptEncPart(ap.EncryptedAuthenticator, key, keyusage.AP_REQ_AUTHENTICATOR); err != nil {
		tb.Fatalf("authenticator: %v", err)
	}
	if err := ap.DecryptAuthenticator(key); err != nil {
		tb.Fatal(err)
	}
	d.auth = ap.Authenticator
	if err := ap.Ticket.DecryptEncPart(serviceKeytab(tb), nil); err != nil {
		tb.Fatalf("ticket: %v", err)
	}
	d.client, d.crealm = ap.Ticket.DecryptedEncPart.CName, ap.Ticket.DecryptedEncPart.CRealm
	return d
}

// sameButFresh fails unless got and want are the same token but for the
// authenticator's time, sequence number and confounder.
func sameButFresh(tb testing.TB, got, want decoded, tk *Ticket) {
	tb.Helper()
	gi, wi := got.spnego.NegTokenInit, want.spnego.NegTokenInit
	if !reflect.DeepEqual(gi.MechTypes, wi.MechTypes) || !reflect.DeepEqual(gi.ReqFlags, wi.ReqFlags) || !bytes.Equal(gi.MechListMIC, wi.MechListMIC) {
		tb.Errorf("NegTokenInit %+v, gokrb5's %+v", gi, wi)
	}
	ga, wa := got.mech.APReq, want.mech.APReq
	if !got.mech.OID.Equal(gssapi.OIDKRB5.OID()) || ga.PVNO != wa.PVNO || ga.MsgType != wa.MsgType ||
		!reflect.DeepEqual(ga.APOptions, wa.APOptions) {
		tb.Errorf("AP-REQ %d %d %v, gokrb5's %d %d %v", ga.PVNO, ga.MsgType, ga.APOptions, wa.PVNO, wa.MsgType, wa.APOptions)
	}
	if ge, we := ga.EncryptedAuthenticator, wa.EncryptedAuthenticator; ge.EType != we.EType || ge.KVNO != we.KVNO ||
		bytes.Equal(ge.Cipher, we.Cipher) {
		tb.Errorf("encrypted authenticator etype %d kvno %d, gokrb5's %d %d (or the same cipher text)", ge.EType, ge.KVNO, we.EType, we.KVNO)
	}
	orig, err := tk.Ticket.Marshal()
	if err != nil {
		tb.Fatal(err)
	}
	if !bytes.Equal(got.ticket, orig) || !bytes.Equal(want.ticket, orig) {
		tb.Error("the AP-REQ's ticket is not the ticket")
	}
	if !got.client.Equal(tk.CName) || got.crealm != tk.CRealm || !want.client.Equal(tk.CName) || want.crealm != tk.CRealm {
		tb.Errorf("ticket client %v@%s (gokrb5's %v@%s), want %v@%s", got.client, got.crealm, want.client, want.crealm, tk.CName, tk.CRealm)
	}
	g := got.auth
	if g.Cksum.CksumType != chksumtype.GSSAPI || !bytes.Equal(g.Cksum.Checksum, want.auth.Cksum.Checksum) {
		tb.Errorf("checksum %d %x, gokrb5's %d %x", g.Cksum.CksumType, g.Cksum.Checksum, want.auth.Cksum.CksumType, want.auth.Cksum.Checksum)
	}
	if g.SeqNumber < 0 || g.SeqNumber > 0x3fffffff {
		tb.Errorf("sequence number %d", g.SeqNumber)
	}
	// With gokrb5's time and sequence number, the authenticator encodes to
	// gokrb5's bytes exactly.
	g.CTime, g.Cusec, g.SeqNumber = want.auth.CTime, want.auth.Cusec, want.auth.SeqNumber
	gb, err := g.Marshal()
	if err != nil {
		tb.Fatal(err)
	}
	var wb asn1.RawValue // want.plain without the padding DES3 leaves on it
	if _, err := asn1.Unmarshal(want.plain, &wb); err != nil {
		tb.Fatal(err)
	}
	if !bytes.Equal(gb, wb.FullBytes) {
		tb.Errorf("authenticator\n%x\ngokrb5's\n%x", gb, wb.FullBytes)
	}
}

// accept runs gokrb5's acceptor (the SPNEGO service with the backend's
// keytab, replay cache included) on header.
func accept(tb testing.TB, header string) (bool, string) {
	tb.Helper()
	raw, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(header, "Negotiate "))
	if err != nil {
		tb.Fatal(err)
	}
	var st spnego.SPNEGOToken
	if err := st.Unmarshal(raw); err != nil {
		return false, err.Error()
	}
	ok, ctx, status := spnego.SPNEGOService(serviceKeytab(tb), service.DecodePAC(false)).AcceptSecContext(&st)
	if !ok {
		return false, status.Message
	}
	// gokrb5 keeps the client under this (unexported) context key.
	id, _ := ctx.Value("github.com/jcmturner/gokrb5/v8/ctxCredentials").(*credentials.Credentials)
	if id == nil {
		return false, "no credentials in the context"
	}
	return true, id.UserName() + "@" + id.Domain()
}

func TestNegotiateMatchesGokrb5(t *testing.T) {
	alice := types.PrincipalName{NameType: nametype.KRB_NT_PRINCIPAL, NameString: []string{"alice"}}
	upn := types.PrincipalName{NameType: nametype.KRB_NT_ENTERPRISE, NameString: []string{"alice@corp.example.com"}}
	for _, e := range testEtypes {
		for _, who := range []struct {
			cname  types.PrincipalName
			crealm string
		}{{alice, testRealm}, {upn, testRealm}} {
			t.Run(fmt.Sprintf("etype %d %s", e, who.cname.PrincipalNameString()), func(t *testing.T) {
				tk, err := serviceTicket(t, e, who.cname, who.crealm, types.NewKrbFlags())
				if err != nil {
					t.Fatal(err)
				}
				checkAgainstGokrb5(t, tk)
			})
		}
	}
}

// checkAgainstGokrb5 makes tokens for tk both ways, compares them, and has
// gokrb5's acceptor take ours.
func checkAgainstGokrb5(t *testing.T, tk *Ticket) {
	t.Helper()
	want, err := negotiateGokrb5(tk)
	if err != nil {
		t.Fatal(err)
	}
	before := time.Now().UTC().Truncate(time.Microsecond)
	got, err := tk.Negotiate()
	if err != nil {
		t.Fatal(err)
	}
	after := time.Now().UTC()
	g := decode(t, got, tk.Key)
	sameButFresh(t, g, decode(t, want, tk.Key), tk)
	if ct := g.auth.CTime.Add(time.Duration(g.auth.Cusec) * time.Microsecond); ct.Before(before) || ct.After(after) {
		t.Errorf("authenticator time %v, made between %v and %v", ct, before, after)
	}
	again, err := tk.Negotiate()
	if err != nil {
		t.Fatal(err)
	}
	a := decode(t, again, tk.Key)
	sameButFresh(t, a, g, tk)
	if ok, who := accept(t, got); !ok || who != tk.Client() {
		t.Errorf("gokrb5's acceptor: %v %s, want %s", ok, who, tk.Client())
	}
	if ok, why := accept(t, got); ok || !strings.Contains(why, "replay") {
		t.Errorf("the same token again: %v %s, want a replay", ok, why)
	}
	if ok, who := accept(t, again); !ok || who != tk.Client() {
		t.Errorf("gokrb5's acceptor, second token: %v %s", ok, who)
	}
}

// FuzzNegotiateMatchesGokrb5: for any client name, realm, name type, ticket
// flags and enctype, Negotiate fails when gokrb5's token fails, and
// otherwise makes gokrb5's token but for time, sequence number and
// confounder, which gokrb5's acceptor takes.
func FuzzNegotiateMatchesGokrb5(f *testing.F) {
	f.Add("alice", testRealm, int32(nametype.KRB_NT_PRINCIPAL), uint32(1)<<(31-flags.Forwardable), uint8(0))
	f.Add("alice@corp.example.com", testRealm, int32(nametype.KRB_NT_ENTERPRISE), uint32(0), uint8(1))
	f.Add("svc/host.example.test", "OTHER.EXAMPLE", int32(nametype.KRB_NT_SRV_INST), ^uint32(0), uint8(2))
	f.Add("bob", "", int32(-1), uint32(0), uint8(3))
	f.Add("", testRealm, int32(0), uint32(0), uint8(4))
	f.Add("élan/ünïcode", "RÉALM", int32(1), uint32(0x50800000), uint8(5))
	f.Fuzz(func(t *testing.T, name, realm string, nameType int32, tflags uint32, etype uint8) {
		cname := types.PrincipalName{NameType: nameType, NameString: strings.Split(name, "/")}
		fl := asn1.BitString{Bytes: binary.BigEndian.AppendUint32(nil, tflags), BitLength: 32}
		tk, err := serviceTicket(t, testEtypes[int(etype)%len(testEtypes)], cname, realm, fl)
		if err != nil {
			return // no ticket for such a client: nothing to present
		}
		want, wantErr := negotiateGokrb5(tk)
		got, err := tk.Negotiate()
		if (err == nil) != (wantErr == nil) {
			t.Fatalf("Negotiate: %v; gokrb5: %v", err, wantErr)
		}
		if err != nil {
			return
		}
		g := decode(t, got, tk.Key)
		sameButFresh(t, g, decode(t, want, tk.Key), tk)
		// gokrb5's acceptor takes both or neither (a ticket flagged
		// invalid, or from another realm than the keytab's, it refuses).
		ok, who := accept(t, got)
		wok, wwho := accept(t, want)
		if ok != wok || ok && who != tk.Client() {
			t.Errorf("gokrb5's acceptor: %v %s; on gokrb5's token: %v %s", ok, who, wok, wwho)
		}
	})
}

// A ticket no token can be made from is an error naming the ticket's
// client and what is wrong with it, on every call, never a panic.
func TestNegotiateBadTicket(t *testing.T) {
	alice := types.PrincipalName{NameType: nametype.KRB_NT_PRINCIPAL, NameString: []string{"alice"}}
	good, err := serviceTicket(t, etypeID.AES256_CTS_HMAC_SHA1_96, alice, testRealm, types.NewKrbFlags())
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		change func(*Ticket)
		saying string
	}{
		{"unknown enctype", func(tk *Ticket) { tk.Key.KeyType = 99 }, "the session key: unknown or unsupported EType: 99"},
		{"AES key of the wrong size", func(tk *Ticket) { tk.Key.KeyValue = tk.Key.KeyValue[:20] }, "the session key: incorrect keysize"},
		{"RFC 8009 key of the wrong size", func(tk *Ticket) {
			tk.Key = types.EncryptionKey{KeyType: etypeID.AES128_CTS_HMAC_SHA256_128, KeyValue: tk.Key.KeyValue}
		}, "the session key: incorrect keysize"},
		{"no service", func(tk *Ticket) { tk.Ticket.SName = types.PrincipalName{} }, "the ticket names no service"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tk := &Ticket{Ticket: good.Ticket, Key: types.EncryptionKey{KeyType: good.Key.KeyType, KeyValue: bytes.Clone(good.Key.KeyValue)},
				CName: good.CName, CRealm: good.CRealm, SName: good.SName}
			tc.change(tk)
			for range 2 {
				h, err := tk.Negotiate()
				if err == nil || h != "" || !strings.Contains(err.Error(), tc.saying) || !strings.Contains(err.Error(), "alice@"+testRealm) {
					t.Fatalf("got %q, %v; want an error for alice@%s saying %q", h, err, testRealm, tc.saying)
				}
			}
		})
	}
}

// Tokens minted in one burst from one ticket (the spares of one Inject)
// carry strictly increasing authenticator times, so that an acceptor
// whose replay cache keys on client, server and time takes every one:
// stamp moves past the last time even when the clock says the same
// microsecond, or an earlier one.
func TestNegotiateBurstHasDistinctTimes(t *testing.T) {
	alice := types.PrincipalName{NameType: nametype.KRB_NT_PRINCIPAL, NameString: []string{"alice"}}
	tk, err := serviceTicket(t, testEtypes[0], alice, testRealm, types.NewKrbFlags())
	if err != nil {
		t.Fatal(err)
	}
	p, err := tk.tokenParts()
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 12, 8, 3, 0, 59, 999_998_000, time.UTC)
	var last time.Time
	for i, clock := range []time.Time{now, now, now, now.Add(-time.Second), now} {
		ct, us := p.stamp(clock)
		at := ct.Add(time.Duration(us) * time.Microsecond)
		if ct.Nanosecond() != 0 || us < 0 || us >= 1e6 {
			t.Fatalf("stamp %d: ctime %v and cusec %d are not whole seconds and microseconds", i, ct, us)
		}
		if i > 0 && !at.After(last) {
			t.Fatalf("stamp %d: %v, not after the previous %v", i, at, last)
		}
		last = at
	}
	if want := now.Add(4 * time.Microsecond); !last.Equal(want) {
		t.Fatalf("five stamps from %v ended at %v, want %v", now, last, want)
	}
	// A real token carries the stamp it was given.
	h, err := tk.Negotiate()
	if err != nil {
		t.Fatal(err)
	}
	a := decode(t, h, tk.Key).auth
	if at := a.CTime.Add(time.Duration(a.Cusec) * time.Microsecond); !at.After(last) {
		t.Fatalf("a token after the burst has time %v, not after %v", at, last)
	}
}
