package s4u

import (
	"crypto/hmac"
	"crypto/rand"
	"fmt"

	"github.com/jcmturner/gokrb5/v8/crypto"
	"github.com/jcmturner/gokrb5/v8/crypto/common"
	"github.com/jcmturner/gokrb5/v8/crypto/etype"
	"github.com/jcmturner/gokrb5/v8/iana/etypeID"
	"github.com/jcmturner/gokrb5/v8/types"
)

// A sealer encrypts a message with one session key for one key usage, as
// gokrb5's crypto.GetEncryptedData does, and returns the cipher text (with
// its integrity checksum).
type sealer interface {
	seal(msg []byte) ([]byte, error)
}

// newSealer is the sealer for key and usage. For the AES enctypes (RFC 3962
// and RFC 8009) it derives Ke and Ki once, with the etype's own DeriveKey;
// for the others it leaves everything to gokrb5's EncryptMessage per call.
func newSealer(key types.EncryptionKey, usage uint32) (sealer, error) {
	e, err := crypto.GetEtype(key.KeyType)
	if err != nil {
		return nil, err
	}
	var rfc8009 bool
	switch key.KeyType {
	case etypeID.AES128_CTS_HMAC_SHA1_96, etypeID.AES256_CTS_HMAC_SHA1_96:
	case etypeID.AES128_CTS_HMAC_SHA256_128, etypeID.AES256_CTS_HMAC_SHA384_192:
		rfc8009 = true
	default:
		return perMessage{key: key, usage: usage}, nil
	}
	// A key that does not fit the enctype fails here as it does in
	// gokrb5's EncryptMessage (RFC 8009's DeriveKey takes any length).
	if _, _, err := e.EncryptMessage(key.KeyValue, []byte{0}, usage); err != nil {
		return nil, err
	}
	ke, err := e.DeriveKey(key.KeyValue, common.GetUsageKe(usage))
	if err != nil {
		return nil, fmt.Errorf("deriving Ke: %w", err)
	}
	ki, err := e.DeriveKey(key.KeyValue, common.GetUsageKi(usage))
	if err != nil {
		return nil, fmt.Errorf("deriving Ki: %w", err)
	}
	return aesSealer{e: e, ke: ke, ki: ki, rfc8009: rfc8009}, nil
}

// aesSealer is rfc3962.EncryptMessage and rfc8009.EncryptMessage with Ke
// and Ki derived in advance: a random confounder before the message, the
// etype's EncryptData (AES-CTS) with Ke, then the etype's truncated HMAC
// with Ki, over confounder and message (RFC 3962) or over a zero IV and the
// cipher text (RFC 8009).
type aesSealer struct {
	e       etype.EType
	ke, ki  []byte
	rfc8009 bool
}

func (s aesSealer) seal(msg []byte) ([]byte, error) {
	n := s.e.GetConfounderByteSize()
	plain := make([]byte, n, n+len(msg))
	if _, err := rand.Read(plain); err != nil {
		return nil, fmt.Errorf("could not generate random confounder: %w", err)
	}
	plain = append(plain, msg...)
	_, ct, err := s.e.EncryptData(s.ke, plain)
	if err != nil {
		return nil, err
	}
	mac := hmac.New(s.e.GetHashFunc(), s.ki)
	if s.rfc8009 {
		mac.Write(make([]byte, n)) // the zero IV
		mac.Write(ct)
	} else {
		mac.Write(plain)
	}
	l := len(ct)
	return mac.Sum(ct)[:l+s.e.GetHMACBitLength()/8], nil
}

// perMessage leaves the whole encryption to gokrb5, key derivation
// included, for the enctypes aesSealer does not cover (RC4-HMAC, DES3).
type perMessage struct {
	key   types.EncryptionKey
	usage uint32
}

func (s perMessage) seal(msg []byte) ([]byte, error) {
	ed, err := crypto.GetEncryptedData(msg, s.key, s.usage, 0)
	return ed.Cipher, err
}
