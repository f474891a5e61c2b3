package s4u

import (
	"bytes"
	"crypto/hmac"
	"crypto/md5"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"slices"
	"testing"
	"time"

	"github.com/jcmturner/gokrb5/v8/config"
	"github.com/jcmturner/gokrb5/v8/crypto"
	"github.com/jcmturner/gokrb5/v8/iana/chksumtype"
	"github.com/jcmturner/gokrb5/v8/iana/etypeID"
	"github.com/jcmturner/gokrb5/v8/iana/flags"
	"github.com/jcmturner/gokrb5/v8/iana/keyusage"
	"github.com/jcmturner/gokrb5/v8/iana/nametype"
	"github.com/jcmturner/gokrb5/v8/iana/patype"
	"github.com/jcmturner/gokrb5/v8/keytab"
	"github.com/jcmturner/gokrb5/v8/messages"
	"github.com/jcmturner/gokrb5/v8/test/testdata"
	"github.com/jcmturner/gokrb5/v8/types"
)

// MIT's reference encoding of PA-FOR-USER (krb5 src/tests/asn.1,
// reference_encode.out), as gokrb5 bundles it.
func TestPAForUserMatchesMITVector(t *testing.T) {
	want, err := hex.DecodeString(testdata.MarshaledKRB5pa_for_user)
	if err != nil {
		t.Fatal(err)
	}
	var got PAForUser
	if err := got.Unmarshal(want); err != nil {
		t.Fatal(err)
	}
	if got.UserName.NameType != nametype.KRB_NT_PRINCIPAL || !slices.Equal(got.UserName.NameString, testdata.TEST_PRINCIPALNAME_NAMESTRING) ||
		got.UserRealm != testdata.TEST_REALM || got.Cksum.CksumType != 1 || string(got.Cksum.Checksum) != "1234" ||
		got.AuthPackage != "krb5data" {
		t.Errorf("decoded %+v", got)
	}
	// Built field by field, it encodes to the same bytes.
	built := PAForUser{
		UserName:    types.PrincipalName{NameType: nametype.KRB_NT_PRINCIPAL, NameString: testdata.TEST_PRINCIPALNAME_NAMESTRING},
		UserRealm:   testdata.TEST_REALM,
		Cksum:       types.Checksum{CksumType: 1, Checksum: []byte("1234")},
		AuthPackage: "krb5data",
	}
	b, err := built.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b, want) {
		t.Errorf("encoded\n%X\nwant MIT's\n%X", b, want)
	}
	if err := new(PAForUser).Unmarshal(append(want, 0)); err == nil {
		t.Error("trailing bytes accepted")
	}
	if err := new(PAForUser).Unmarshal(want[:len(want)-3]); err == nil {
		t.Error("a truncated encoding accepted")
	}
}

// referenceChecksum is MS-SFU 2.2.1's checksum written out from the specs
// with the standard library only: RFC 4757's HMAC-MD5 checksum, key usage
// 17, over name-type (int32 LE) || name-strings || realm || auth-package.
func referenceChecksum(key []byte, nameType int32, names []string, realm string) []byte {
	var data []byte
	data = binary.LittleEndian.AppendUint32(data, uint32(nameType))
	for _, n := range names {
		data = append(data, n...)
	}
	data = append(data, realm...)
	data = append(data, "Kerberos"...)
	ksign := hmac.New(md5.New, key)
	ksign.Write([]byte("signaturekey\x00"))
	h := md5.New()
	h.Write(binary.LittleEndian.AppendUint32(nil, 17))
	h.Write(data)
	mac := hmac.New(md5.New, ksign.Sum(nil))
	mac.Write(h.Sum(nil))
	return mac.Sum(nil)
}

func TestPAForUserChecksum(t *testing.T) {
	key := make([]byte, 32)
	rand.Read(key)
	for _, tc := range []struct {
		name  string
		user  types.PrincipalName
		realm string
	}{
		{"plain name", types.PrincipalName{NameType: nametype.KRB_NT_PRINCIPAL, NameString: []string{"alice"}}, "EXAMPLE.TEST"},
		{"enterprise name", types.PrincipalName{NameType: nametype.KRB_NT_ENTERPRISE, NameString: []string{"alice@example.test"}}, "EXAMPLE.TEST"},
		{"two components", types.PrincipalName{NameType: nametype.KRB_NT_PRINCIPAL, NameString: []string{"hftsai", "extra"}}, "ATHENA.MIT.EDU"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pa, err := NewPAForUser(tc.user, tc.realm, types.EncryptionKey{KeyType: etypeID.AES256_CTS_HMAC_SHA1_96, KeyValue: key})
			if err != nil {
				t.Fatal(err)
			}
			if pa.Cksum.CksumType != chksumtype.KERB_CHECKSUM_HMAC_MD5 || pa.AuthPackage != "Kerberos" || pa.UserRealm != tc.realm {
				t.Errorf("got %+v", pa)
			}
			if want := referenceChecksum(key, tc.user.NameType, tc.user.NameString, tc.realm); !bytes.Equal(pa.Cksum.Checksum, want) {
				t.Errorf("checksum %x, want %x", pa.Cksum.Checksum, want)
			}
			// A different realm or name type gives a different checksum.
			other := referenceChecksum(key, tc.user.NameType+1, tc.user.NameString, tc.realm)
			if bytes.Equal(pa.Cksum.Checksum, other) {
				t.Error("the name type is not covered by the checksum")
			}
			pad, err := pa.PAData()
			if err != nil || pad.PADataType != patype.PA_FOR_USER {
				t.Fatalf("PAData: %+v, %v", pad, err)
			}
			var back PAForUser
			if err := back.Unmarshal(pad.PADataValue); err != nil || !back.UserName.Equal(tc.user) || back.UserName.NameType != tc.user.NameType {
				t.Errorf("round trip: %+v, %v", back, err)
			}
		})
	}
}

// testClient is a Client that never talks to a KDC, with a made-up TGT.
func testClient(t *testing.T) (*Client, *Ticket) {
	t.Helper()
	cfg := config.New()
	cfg.LibDefaults.DefaultRealm = "EXAMPLE.TEST"
	c, err := New(Config{Krb5: cfg, Keytab: keytab.New(), Realm: "EXAMPLE.TEST",
		Principal: types.PrincipalName{NameType: nametype.KRB_NT_PRINCIPAL, NameString: []string{"svc-connector"}}})
	if err != nil {
		t.Fatal(err)
	}
	key := make([]byte, 32)
	rand.Read(key)
	tgt := &Ticket{
		Ticket: messages.Ticket{TktVNO: 5, Realm: "EXAMPLE.TEST",
			SName:   types.PrincipalName{NameType: nametype.KRB_NT_SRV_INST, NameString: []string{"krbtgt", "EXAMPLE.TEST"}},
			EncPart: types.EncryptedData{EType: etypeID.AES256_CTS_HMAC_SHA1_96, KVNO: 1, Cipher: []byte("opaque")}},
		Key: types.EncryptionKey{KeyType: etypeID.AES256_CTS_HMAC_SHA1_96, KeyValue: key},
	}
	return c, tgt
}

// checkSigned decodes req as a KDC would and checks that PA-TGS-REQ's
// authenticator names the service and carries a checksum of the body as
// sent, additional tickets and all.
func checkSigned(t *testing.T, c *Client, tgt *Ticket, req messages.TGSReq) messages.TGSReq {
	t.Helper()
	wire, err := req.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	var got messages.TGSReq
	if err := got.Unmarshal(wire); err != nil {
		t.Fatal(err)
	}
	if len(got.PAData) == 0 || got.PAData[0].PADataType != patype.PA_TGS_REQ {
		t.Fatalf("first padata %+v, want PA-TGS-REQ", got.PAData)
	}
	var ap messages.APReq
	if err := ap.Unmarshal(got.PAData[0].PADataValue); err != nil {
		t.Fatal(err)
	}
	if err := ap.DecryptAuthenticator(tgt.Key); err != nil {
		t.Fatal(err)
	}
	if !ap.Authenticator.CName.Equal(c.principal) || ap.Authenticator.CRealm != c.realm {
		t.Errorf("authenticator names %v@%s", ap.Authenticator.CName, ap.Authenticator.CRealm)
	}
	body, err := got.ReqBody.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	et, _ := crypto.GetEtype(tgt.Key.KeyType)
	if !et.VerifyChecksum(tgt.Key.KeyValue, body, ap.Authenticator.Cksum.Checksum, keyusage.TGS_REQ_PA_TGS_REQ_AP_REQ_AUTHENTICATOR_CHKSUM) {
		t.Error("the authenticator's checksum does not cover the body as sent")
	}
	return got
}

func TestS4U2ProxyRequest(t *testing.T) {
	c, tgt := testClient(t)
	evidence := messages.Ticket{TktVNO: 5, Realm: "EXAMPLE.TEST", SName: c.principal,
		EncPart: types.EncryptedData{EType: etypeID.AES256_CTS_HMAC_SHA1_96, KVNO: 2, Cipher: []byte("evidence")}}
	spn, err := SPN("HTTP/backend.example.test")
	if err != nil {
		t.Fatal(err)
	}
	body, err := c.tgsBody(spn, kdcOptCNameInAddlTkt)
	if err != nil {
		t.Fatal(err)
	}
	body.AdditionalTickets = []messages.Ticket{evidence}
	req, err := c.signTGSReq(tgt, body)
	if err != nil {
		t.Fatal(err)
	}
	got := checkSigned(t, c, tgt, req)
	opts := got.ReqBody.KDCOptions
	if !types.IsFlagSet(&opts, 14) || !types.IsFlagSet(&opts, flags.Forwardable) {
		t.Errorf("KDC options %x: want cname-in-addl-tkt (14) and forwardable", opts.Bytes)
	}
	if len(got.ReqBody.AdditionalTickets) != 1 || string(got.ReqBody.AdditionalTickets[0].EncPart.Cipher) != "evidence" {
		t.Errorf("additional tickets %+v", got.ReqBody.AdditionalTickets)
	}
	if !got.ReqBody.SName.Equal(spn) || got.ReqBody.Realm != "EXAMPLE.TEST" || len(got.ReqBody.CName.NameString) != 0 {
		t.Errorf("body names sname %v realm %s cname %v", got.ReqBody.SName, got.ReqBody.Realm, got.ReqBody.CName)
	}
	// A body changed after signing no longer verifies: the trap of
	// messages.NewTGSReq, which signs at once.
	tampered := req
	tampered.ReqBody.AdditionalTickets = nil
	wire, _ := tampered.Marshal()
	var back messages.TGSReq
	if err := back.Unmarshal(wire); err != nil {
		t.Fatal(err)
	}
	var ap messages.APReq
	_ = ap.Unmarshal(back.PAData[0].PADataValue)
	_ = ap.DecryptAuthenticator(tgt.Key)
	b, _ := back.ReqBody.Marshal()
	et, _ := crypto.GetEtype(tgt.Key.KeyType)
	if et.VerifyChecksum(tgt.Key.KeyValue, b, ap.Authenticator.Cksum.Checksum, keyusage.TGS_REQ_PA_TGS_REQ_AP_REQ_AUTHENTICATOR_CHKSUM) {
		t.Error("the checksum verified over a body it was not computed for")
	}
}

func TestS4U2SelfRequest(t *testing.T) {
	c, tgt := testClient(t)
	user := User{Name: "alice"}
	pa, err := NewPAForUser(user.principal(), c.realm, tgt.Key)
	if err != nil {
		t.Fatal(err)
	}
	pad, _ := pa.PAData()
	body, err := c.tgsBody(c.principal, flags.Canonicalize)
	if err != nil {
		t.Fatal(err)
	}
	req, err := c.signTGSReq(tgt, body, pad)
	if err != nil {
		t.Fatal(err)
	}
	got := checkSigned(t, c, tgt, req)
	if !got.ReqBody.SName.Equal(c.principal) {
		t.Errorf("S4U2Self is addressed to %v, want the service itself", got.ReqBody.SName)
	}
	if len(got.PAData) != 2 || got.PAData[1].PADataType != patype.PA_FOR_USER {
		t.Fatalf("padata %+v, want PA-TGS-REQ then PA-FOR-USER", got.PAData)
	}
	var sent PAForUser
	if err := sent.Unmarshal(got.PAData[1].PADataValue); err != nil {
		t.Fatal(err)
	}
	if want := referenceChecksum(tgt.Key.KeyValue, nametype.KRB_NT_PRINCIPAL, []string{"alice"}, "EXAMPLE.TEST"); !bytes.Equal(sent.Cksum.Checksum, want) {
		t.Error("PA-FOR-USER checksum is not keyed with the TGT session key")
	}
}

func TestSPN(t *testing.T) {
	for in, ok := range map[string]bool{
		"HTTP/backend.example.test": true, "HTTP/backend.example.test:8080": true, "MSSQLSvc/db.example.test:1433": true,
		"HTTP": false, "HTTP/": false, "/host": false, "HTTP/host@EXAMPLE.TEST": false, "HTTP/host\nX": false, "": false,
		"HTTP//host": false, "HTTP/ho st": false,
	} {
		_, err := SPN(in)
		if (err == nil) != ok {
			t.Errorf("SPN(%q) error %v, want ok=%v", in, err, ok)
		}
	}
}

func TestTicketTimes(t *testing.T) {
	now := time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)
	c, _ := testClient(t)
	c.now = func() time.Time { return now }
	// The KDC's clock is an hour off; the ticket is good for 10 hours.
	kdcStart := now.Add(-time.Hour)
	tk := c.newTicket(messages.Ticket{}, messages.EncKDCRepPart{AuthTime: kdcStart, EndTime: kdcStart.Add(10 * time.Hour)}, types.PrincipalName{}, "")
	if want := now.Add(7*time.Hour + 30*time.Minute); !tk.RefreshAt.Equal(want) {
		t.Errorf("RefreshAt %v, want %v", tk.RefreshAt, want)
	}
	if want := now.Add(10*time.Hour - 2*time.Minute); !tk.Expires.Equal(want) {
		t.Errorf("Expires %v, want %v", tk.Expires, want)
	}
	// A ticket the KDC issued already expired is never usable.
	bad := c.newTicket(messages.Ticket{}, messages.EncKDCRepPart{StartTime: kdcStart, EndTime: kdcStart.Add(-time.Minute)}, types.PrincipalName{}, "")
	if bad.Expires.After(now) {
		t.Errorf("an expired ticket is usable until %v", bad.Expires)
	}
}
