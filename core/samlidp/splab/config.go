package splab

// Writing the SP's files: its config, its auth source, the IdPs it trusts.

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"

	"github.com/gatehouse/gatehouse/internal/simplesamllab"
)

func (sp *SP) writeConfig() error {
	err := simplesamllab.WriteConfig(sp.Dir, simplesamllab.Config{
		BaseURL:       sp.public,
		Sources:       []string{"['type' => 'xml', 'file' => $D . '/metadata/idp.xml']"},
		Cookie:        "SimpleSAMLSP",
		SecureCookies: true,
	}, map[string]string{"config/authsources.php": authsourcesPHP}, "@ENTITY@", simplesamllab.PHPString(sp.EntityID))
	if err != nil {
		return err
	}
	return sp.TrustIdP()
}

// TrustIdP makes the IdPs with these metadata documents (EntityDescriptors)
// the ones the SP trusts; the first is the one its sign-in goes to. It
// takes effect with the next request.
func (sp *SP) TrustIdP(idpMetadata ...[]byte) error {
	b, err := simplesamllab.Entities("IdP", "IDPSSODescriptor", idpMetadata...)
	if err != nil {
		return err
	}
	if err := simplesamllab.WriteAtomic(filepath.Join(sp.Dir, "metadata", "idp.xml"), b, 0o644); err != nil {
		return err
	}
	idp := ""
	if len(idpMetadata) > 0 {
		if idp, err = entityID(idpMetadata[0]); err != nil {
			return err
		}
	}
	lit := "null"
	if idp != "" {
		lit = simplesamllab.PHPString(idp)
	}
	return os.WriteFile(filepath.Join(sp.Dir, "config", "idp.php"), []byte("<?php\nreturn "+lit+";\n"), 0o600)
}

// entityID is the entityID attribute of an EntityDescriptor.
func entityID(md []byte) (string, error) {
	_, after, ok := bytes.Cut(md, []byte(`entityID="`))
	v, _, ok2 := bytes.Cut(after, []byte(`"`))
	if !ok || !ok2 || len(v) == 0 {
		return "", fmt.Errorf("IdP metadata without an entityID: %.80q", md)
	}
	return string(v), nil
}

// authsourcesPHP is the SP: it signs in at the IdP named in idp.php.
const authsourcesPHP = `<?php
$config = [
    'admin' => ['core:AdminPassword'],
    'default-sp' => [
        'saml:SP',
        'entityID' => @ENTITY@,
        'idp' => require __DIR__ . '/idp.php',
    ],
];
`
