package simplesamllab

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// Entities wraps each EntityDescriptor (XML declaration dropped) and
// refuses a document without the element asked for.
func TestEntities(t *testing.T) {
	sp := []byte(`<?xml version="1.0"?>` + "\n" + `<EntityDescriptor entityID="a"><SPSSODescriptor/></EntityDescriptor>`)
	b, err := Entities("SP", "SPSSODescriptor", sp)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Count(string(b), "<?xml") != 1 || !strings.Contains(string(b), `<EntityDescriptor entityID="a">`) ||
		!strings.HasSuffix(string(b), "</EntitiesDescriptor>\n") {
		t.Errorf("wrapped:\n%s", b)
	}
	if _, err := Entities("IdP", "IDPSSODescriptor", sp); err == nil || !strings.Contains(err.Error(), "IdP metadata 0 has no IDPSSODescriptor") {
		t.Errorf("an SP's metadata as an IdP's: %v", err)
	}
}

// WriteConfig fills the skeleton and the other files' place-holders, with
// values quoted for PHP.
func TestWriteConfig(t *testing.T) {
	dir := t.TempDir()
	err := WriteConfig(dir, Config{BaseURL: "https://x/", Sources: []string{"['type' => 'xml']"}, Modules: []string{"exampleauth"},
		Cookie: "C", SecureCookies: true}, map[string]string{"config/authsources.php": "<?php @DIR@ @ENTITY@"}, "@ENTITY@", PHPString(`it's`))
	if err != nil {
		t.Fatal(err)
	}
	cfg, _ := os.ReadFile(filepath.Join(dir, "config", "config.php"))
	for _, want := range []string{"$D = " + PHPString(dir), "'baseurlpath' => 'https://x/'", "['type' => 'xml'],", "'enable.saml20-idp' => false",
		"['exampleauth' => true, 'core' => true", "'session.cookie.name' => 'CSessionID'", "'session.cookie.secure' => true"} {
		if !strings.Contains(string(cfg), want) {
			t.Errorf("config.php lacks %s:\n%s", want, cfg)
		}
	}
	if regexp.MustCompile(`@[A-Z]+@`).Match(cfg) {
		t.Errorf("config.php keeps a place-holder:\n%s", cfg)
	}
	as, _ := os.ReadFile(filepath.Join(dir, "config", "authsources.php"))
	if want := "<?php " + PHPString(dir) + ` 'it\'s'`; string(as) != want {
		t.Errorf("authsources.php = %q, want %q", as, want)
	}
	for _, sub := range []string{"metadata", "sessions", "cert"} {
		if _, err := os.Stat(filepath.Join(dir, sub)); err != nil {
			t.Error(err)
		}
	}
}
