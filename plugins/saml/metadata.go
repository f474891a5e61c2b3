package saml

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	crewjam "github.com/crewjam/saml"
	"github.com/crewjam/saml/samlsp"

	"github.com/gatehouse/gatehouse/sdk"
)

// maxMetadataSize bounds an IdP metadata document: one IdP's is a few
// KiB; a federation aggregate with idp_entity_id may be tens of MiB.
const maxMetadataSize = 64 << 20

// refreshRetry is how long a failed refresh of idp_metadata_url waits
// before the next try; the metadata fetched before stays in use meanwhile.
const refreshRetry = time.Minute

// idpMetadata is the IdP's metadata: read once from idp_metadata_file, or
// fetched from idp_metadata_url when the config is loaded and again every
// metadata_refresh (on a sign-in that finds it older; never in the
// background), so that a rotated IdP signing certificate is picked up.
type idpMetadata struct {
	cfg    config
	client *http.Client // nil for a file
	log    *slog.Logger
	now    func() time.Time

	mu         sync.Mutex
	current    *crewjam.EntityDescriptor
	fetchedAt  time.Time
	refreshing bool
	retryAt    time.Time
}

// loadIdP loads the IdP's metadata for New. A file that cannot be read, a
// URL that cannot be fetched and metadata that is not a usable IdP's are
// config errors that name the key.
func loadIdP(ctx context.Context, cfg config, log *slog.Logger, now func() time.Time) (*idpMetadata, error) {
	m := &idpMetadata{cfg: cfg, log: log, now: now}
	var ed *crewjam.EntityDescriptor
	if cfg.IDPMetadataFile != "" {
		b, err := os.ReadFile(cfg.IDPMetadataFile)
		if err != nil {
			return nil, sdk.FieldErrorf("idp_metadata_file", "cannot read it: %v", err)
		}
		if ed, err = parseIdPMetadata(b, cfg.IDPEntityID); err != nil {
			return nil, sdk.FieldErrorf("idp_metadata_file", "%s: %v", cfg.IDPMetadataFile, err)
		}
	} else {
		var err error
		if m.client, err = httpClient(cfg); err != nil {
			return nil, err
		}
		if ed, err = m.fetch(ctx); err != nil {
			return nil, sdk.FieldErrorf("idp_metadata_url", "%v: check the URL and that the gateway can reach it, or download the metadata into idp_metadata_file", err)
		}
	}
	if !ed.ValidUntil.IsZero() && now().After(ed.ValidUntil) {
		log.Warn("the IdP metadata's validUntil has passed; it is used all the same: get a fresh copy",
			"idp", ed.EntityID, "valid_until", ed.ValidUntil.UTC().Format(time.RFC3339))
	}
	m.current, m.fetchedAt = ed, now()
	return m, nil
}

// get is the metadata to use for a sign-in. Metadata from a URL that is
// older than metadata_refresh is fetched again, by one sign-in at a time,
// within that sign-in's deadline; if that fails, the metadata held stays
// in use and the failure is logged.
func (m *idpMetadata) get(ctx context.Context) *crewjam.EntityDescriptor {
	m.mu.Lock()
	ed, now := m.current, m.now()
	due := m.client != nil && !m.refreshing && now.Sub(m.fetchedAt) >= m.cfg.MetadataRefresh && !now.Before(m.retryAt)
	if due {
		m.refreshing = true
	}
	m.mu.Unlock()
	if !due {
		return ed
	}
	fresh, err := m.fetch(ctx)
	m.mu.Lock()
	defer m.mu.Unlock()
	m.refreshing = false
	if err != nil {
		m.retryAt = m.now().Add(refreshRetry)
		m.log.Warn("refreshing the IdP metadata failed; the copy fetched before stays in use",
			"url", m.cfg.IDPMetadataURL, "fetched", m.fetchedAt.UTC().Format(time.RFC3339), "error", err)
		return ed
	}
	m.current, m.fetchedAt = fresh, m.now()
	return fresh
}

// fetch downloads and parses idp_metadata_url, within metadata_timeout.
func (m *idpMetadata) fetch(ctx context.Context) (*crewjam.EntityDescriptor, error) {
	ctx, cancel := context.WithTimeout(ctx, m.cfg.MetadataTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, m.cfg.IDPMetadataURL, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/samlmetadata+xml, application/xml;q=0.9, text/xml;q=0.8")
	resp, err := m.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("fetching %s: %w", m.cfg.IDPMetadataURL, unwrapURLError(err))
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("fetching %s: the server answered %s", m.cfg.IDPMetadataURL, resp.Status)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxMetadataSize+1))
	if err != nil {
		return nil, fmt.Errorf("fetching %s: %w", m.cfg.IDPMetadataURL, err)
	}
	if len(b) > maxMetadataSize {
		return nil, fmt.Errorf("fetching %s: the metadata is larger than %d MiB", m.cfg.IDPMetadataURL, maxMetadataSize>>20)
	}
	ed, err := parseIdPMetadata(b, m.cfg.IDPEntityID)
	if err != nil {
		return nil, fmt.Errorf("the metadata at %s: %w", m.cfg.IDPMetadataURL, err)
	}
	return ed, nil
}

// unwrapURLError drops the "Get "URL": " that net/http puts before an
// error whose URL the caller names itself.
func unwrapURLError(err error) error {
	if ue, ok := errors.AsType[*url.Error](err); ok {
		return ue.Err
	}
	return err
}

// parseIdPMetadata reads an IdP's metadata: an EntityDescriptor, or an
// EntitiesDescriptor with one IdP (or the one whose entity id is
// entityID). It must describe a SAML 2.0 IdP with an HTTP-Redirect
// single sign-on service and at least one signing certificate.
func parseIdPMetadata(b []byte, entityID string) (*crewjam.EntityDescriptor, error) {
	var ed *crewjam.EntityDescriptor
	var err error
	if entityID != "" {
		ed, err = samlsp.ParseMetadataByEntityID(b, entityID)
	} else {
		ed, err = samlsp.ParseMetadata(b)
	}
	if err != nil {
		if strings.Contains(err.Error(), "ParseMetadataByEntityID") {
			return nil, errors.New("it holds several IdPs: set idp_entity_id to the one to trust")
		}
		return nil, fmt.Errorf("not SAML metadata: %w", err)
	}
	if ed.EntityID == "" {
		return nil, errors.New("the EntityDescriptor has no entityID")
	}
	if len(ed.IDPSSODescriptors) == 0 {
		return nil, fmt.Errorf("%s is not an identity provider (no IDPSSODescriptor)", ed.EntityID)
	}
	sso := false
	var certs int
	for _, d := range ed.IDPSSODescriptors {
		for _, s := range d.SingleSignOnServices {
			sso = sso || (s.Binding == crewjam.HTTPRedirectBinding && s.Location != "")
		}
		for _, kd := range d.KeyDescriptors {
			if kd.Use != "" && kd.Use != "signing" {
				continue
			}
			for _, c := range kd.KeyInfo.X509Data.X509Certificates {
				der, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(c.Data), ""))
				if err != nil {
					return nil, fmt.Errorf("a signing certificate of %s is not base64: %w", ed.EntityID, err)
				}
				if _, err := x509.ParseCertificate(der); err != nil {
					return nil, fmt.Errorf("a signing certificate of %s does not parse: %w", ed.EntityID, err)
				}
				certs++
			}
		}
	}
	if !sso {
		return nil, fmt.Errorf("%s has no SingleSignOnService with the HTTP-Redirect binding", ed.EntityID)
	}
	if certs == 0 {
		return nil, fmt.Errorf("%s publishes no signing certificate, so its answers could not be checked", ed.EntityID)
	}
	return ed, nil
}

// metadata answers GET CALLBACK?metadata with the SP metadata to give the
// IdP: entity id, the callback URL as the HTTP-POST assertion consumer
// service, the gateway's "Signed out" page as the HTTP-Redirect
// SingleLogoutService (unless single_logout is false), and the certificate
// that signs the AuthnRequests.
func (a *authenticator) metadata(callback *url.URL, signedOut string) (sdk.AuthResult, error) {
	sp := a.serviceProvider(callback, nil, a.now())
	a.singleLogout(sp, signedOut)
	b, err := xml.MarshalIndent(sp.Metadata(), "", "  ")
	if err != nil {
		return sdk.AuthResult{}, fmt.Errorf("writing the SP metadata: %w", err)
	}
	var body bytes.Buffer
	body.WriteString(xml.Header)
	body.Write(b)
	body.WriteByte('\n')
	res := sdk.Challenge(http.StatusOK, http.Header{
		"Content-Type":        {"application/samlmetadata+xml"},
		"Content-Disposition": {`inline; filename="` + a.realm + `-sp-metadata.xml"`},
	}, body.Bytes())
	res.Reason = "served the SP metadata"
	return res, nil
}
