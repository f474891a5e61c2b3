// Package samlidp makes Gatehouse the SAML 2.0 identity provider of an
// app's backend (a SAML service provider published through a connector):
// it publishes the IdP's metadata per app, signs assertions for the user
// signed in to the app (NameID and attributes as configured), and answers
// SP-initiated (HTTP-Redirect AuthnRequest) and IdP-initiated (launch)
// sign-ins by posting the Response to the SP's assertion consumer service.
// It runs in the gateway, next to the user's session and the store that
// keeps its signing key; crewjam/saml does the XML and the signatures.
//
// Its paths are under /.gatehouse/saml/APP/ on the app's host (package
// reserved): metadata, sso and launch.
package samlidp

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/crewjam/saml"
)

// maxSPMetadata bounds an SP metadata document.
const maxSPMetadata = 1 << 20

// ParseSP parses and checks an SP's metadata (one EntityDescriptor with an
// SPSSODescriptor) for the app at host (lower-case, no port) under path
// prefix: it needs an entityID, and at least one assertion consumer
// service with the HTTP-POST binding; every HTTP-POST one must be https
// on the app's host and under its prefix, since the browser posts the
// user's assertion there and Gatehouse publishes nothing else at that
// address. The error says what is wrong and what to do.
func ParseSP(md []byte, host, prefix string) (*saml.EntityDescriptor, error) {
	if len(md) > maxSPMetadata {
		return nil, fmt.Errorf("the SP metadata is %d bytes, over the %d-byte limit", len(md), maxSPMetadata)
	}
	md = bytes.TrimSpace(md)
	if len(md) == 0 {
		return nil, errors.New("the SP metadata is empty: give the service provider's metadata XML (an EntityDescriptor)")
	}
	if root := rootElement(md); root.Local != "EntityDescriptor" || root.Space != "urn:oasis:names:tc:SAML:2.0:metadata" {
		return nil, fmt.Errorf("the SP metadata is not one SAML EntityDescriptor: its root element is <%s> (namespace %q)", root.Local, root.Space)
	}
	ed := &saml.EntityDescriptor{}
	if err := xml.Unmarshal(md, ed); err != nil {
		return nil, fmt.Errorf("the SP metadata is not a valid SAML EntityDescriptor: %v", err)
	}
	if ed.EntityID == "" {
		return nil, errors.New("the SP metadata has no entityID")
	}
	if len(ed.SPSSODescriptors) == 0 {
		return nil, fmt.Errorf("the metadata of %q has no SPSSODescriptor: it is not a service provider's", ed.EntityID)
	}
	posts := 0
	for _, sp := range ed.SPSSODescriptors {
		for _, acs := range sp.AssertionConsumerServices {
			if acs.Binding != saml.HTTPPostBinding {
				continue
			}
			posts++
			if msg := checkACS(acs.Location, host, prefix); msg != "" {
				return nil, fmt.Errorf("assertion consumer service %q of %q: %s", acs.Location, ed.EntityID, msg)
			}
		}
	}
	if posts == 0 {
		return nil, fmt.Errorf("the metadata of %q has no AssertionConsumerService with the HTTP-POST binding (%s), the only one Gatehouse sends", ed.EntityID, saml.HTTPPostBinding)
	}
	return ed, nil
}

// checkACS says what is wrong with an ACS location for the app ("": nothing).
func checkACS(loc, host, prefix string) string {
	u, err := url.Parse(loc)
	switch {
	case err != nil:
		return "not a URL: " + err.Error()
	case u.Scheme != "https":
		return "must be an https URL: the browser posts the signed assertion there"
	case !strings.EqualFold(u.Hostname(), host):
		return fmt.Sprintf("must be on the app's host %q (the SP behind the connector, as users reach it), not %q", host, u.Hostname())
	case u.User != nil || u.Fragment != "":
		return "must not carry user info or a fragment"
	case prefix != "" && prefix != "/" && !strings.HasPrefix(u.Path, strings.TrimSuffix(prefix, "/")+"/") && u.Path != strings.TrimSuffix(prefix, "/"):
		return fmt.Sprintf("must be under the app's path_prefix %q", prefix)
	case strings.HasPrefix(u.Path, "/.gatehouse/"):
		return "must not be under /.gatehouse/, which belongs to Gatehouse"
	}
	return ""
}

// rootElement is the name of the document's first element.
func rootElement(doc []byte) xml.Name {
	d := xml.NewDecoder(bytes.NewReader(doc))
	for {
		tok, err := d.Token()
		if err != nil {
			return xml.Name{}
		}
		if se, ok := tok.(xml.StartElement); ok {
			return se.Name
		}
	}
}
