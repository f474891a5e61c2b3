package s4u

import (
	"bytes"
	"encoding/binary"
	"fmt"

	"github.com/jcmturner/gofork/encoding/asn1"
	"github.com/jcmturner/gokrb5/v8/crypto/rfc4757"
	"github.com/jcmturner/gokrb5/v8/iana/chksumtype"
	"github.com/jcmturner/gokrb5/v8/iana/keyusage"
	"github.com/jcmturner/gokrb5/v8/iana/patype"
	"github.com/jcmturner/gokrb5/v8/types"
)

// kdcOptCNameInAddlTkt is KDC option bit 14, cname-in-addl-tkt (MS-SFU
// 2.2.3): the ticket's client is the client of the additional ticket. gokrb5
// has no constant for it.
const kdcOptCNameInAddlTkt = 14

// authPackage is the only auth-package MS-SFU defines for PA-FOR-USER.
const authPackage = "Kerberos"

// PAForUser is PA-FOR-USER (MS-SFU 2.2.1, padata type 129): in an S4U2Self
// request it names the user the service wants a ticket for.
//
//	PA-FOR-USER ::= SEQUENCE {
//	    userName    [0] PrincipalName,
//	    userRealm   [1] Realm,
//	    cksum       [2] Checksum,
//	    auth-package [3] KerberosString }
type PAForUser struct {
	UserName    types.PrincipalName `asn1:"explicit,tag:0"`
	UserRealm   string              `asn1:"generalstring,explicit,tag:1"`
	Cksum       types.Checksum      `asn1:"explicit,tag:2"`
	AuthPackage string              `asn1:"generalstring,explicit,tag:3"`
}

// NewPAForUser is the PA-FOR-USER for user@realm, its checksum keyed with
// the session key of the requesting service's TGT.
func NewPAForUser(user types.PrincipalName, realm string, tgtSessionKey types.EncryptionKey) (PAForUser, error) {
	sum, err := forUserChecksum(user, realm, tgtSessionKey)
	if err != nil {
		return PAForUser{}, err
	}
	return PAForUser{
		UserName:    user,
		UserRealm:   realm,
		Cksum:       types.Checksum{CksumType: chksumtype.KERB_CHECKSUM_HMAC_MD5, Checksum: sum},
		AuthPackage: authPackage,
	}, nil
}

// forUserChecksum is the PA-FOR-USER checksum (MS-SFU 2.2.1): HMAC-MD5
// (RFC 4757, key usage 17) keyed with the TGT session key whatever its
// encryption type, over the name type as a little-endian int32, the name's
// components, the realm and the auth-package, concatenated.
func forUserChecksum(user types.PrincipalName, realm string, key types.EncryptionKey) ([]byte, error) {
	var data bytes.Buffer
	_ = binary.Write(&data, binary.LittleEndian, user.NameType)
	for _, s := range user.NameString {
		data.WriteString(s)
	}
	data.WriteString(realm)
	data.WriteString(authPackage)
	sum, err := rfc4757.Checksum(key.KeyValue, keyusage.KERB_NON_KERB_CKSUM_SALT, data.Bytes())
	if err != nil {
		return nil, fmt.Errorf("computing the PA-FOR-USER checksum: %w", err)
	}
	return sum, nil
}

// Marshal encodes p in DER.
func (p PAForUser) Marshal() ([]byte, error) {
	b, err := asn1.Marshal(p)
	if err != nil {
		return nil, fmt.Errorf("encoding PA-FOR-USER: %w", err)
	}
	return b, nil
}

// Unmarshal decodes the DER encoding b into p.
func (p *PAForUser) Unmarshal(b []byte) error {
	rest, err := asn1.Unmarshal(b, p)
	if err != nil {
		return fmt.Errorf("decoding PA-FOR-USER: %w", err)
	}
	if len(rest) != 0 {
		return fmt.Errorf("decoding PA-FOR-USER: %d bytes after the end", len(rest))
	}
	return nil
}

// PAData is p as a padata element of a TGS-REQ.
func (p PAForUser) PAData() (types.PAData, error) {
	b, err := p.Marshal()
	if err != nil {
		return types.PAData{}, err
	}
	return types.PAData{PADataType: patype.PA_FOR_USER, PADataValue: b}, nil
}
