package splab

import (
	"context"
	"errors"
	"strings"
	"testing"
)

// The SP starts and publishes metadata whose URLs are its public ones.
func TestMetadata(t *testing.T) {
	sp, err := Start(context.Background(), Options{PublicURL: "https://sp.example.test/"})
	if errors.Is(err, ErrSkip) {
		t.Skipf("SimpleSAMLphp not available: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer sp.Stop()
	md, err := sp.Metadata(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`entityID="https://sp.example.test/sp"`, `Location="https://sp.example.test/module.php/saml/sp/saml2-acs.php/default-sp"`} {
		if !strings.Contains(string(md), want) {
			t.Errorf("metadata lacks %s:\n%s", want, md)
		}
	}
}
