package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/plugins/kcd/kcdlab"
)

// The KCD scenario, when the Kerberos lab can run here (root, its Debian
// packages): the lab's Apache published twice through Gatehouse, once as
// passthrough and once with sign-in and Kerberos constrained delegation at
// the connector. The load carries alice's session cookie. Three runs:
// passthrough to Apache's public page; the KCD app to the same public page
// (the gateway, envelope and Inject with a cached ticket, but no Kerberos
// check at Apache); the KCD app to the page Apache protects with
// mod_auth_gssapi (Apache validates the ticket too).

const kcdKey = "bench-kcd-key"

// kcdApps is the config of the two apps (the catalog already has apikeys).
func kcdApps(lab *kcdlab.Lab) string {
	key := sha256.Sum256([]byte(kcdKey))
	return fmt.Sprintf(`  - name: kcdpass
    host: kcdpass.localhost
    group: bench
    auth: passthrough
    backend:
      url: http://%[1]s
  - name: kcd
    host: kcd.localhost
    group: bench
    auth: {plugin: apikeys, config: {keys: [{sha256: %[2]s, subject: alice, upn: "alice@%[3]s"}]}}
    sign_on: {plugin: kcd, config: {spn: %[4]q, identity: upn_user, keytab: %[5]q, principal: %[6]q, realm: %[3]q, krb5_conf: %[7]q}}
    backend:
      url: http://%[1]s
`, lab.BackendAddr, hex.EncodeToString(key[:]), lab.Realm, lab.BackendSPN, lab.ConnectorKeytab, lab.ConnectorPrincipal, lab.Krb5Conf)
}

// startKCDLab starts the lab, or says why the scenario is skipped.
func startKCDLab(say func(string, ...any)) *kcdlab.Lab {
	lab, err := kcdlab.Start(context.Background())
	if errors.Is(err, kcdlab.ErrSkip) {
		say("KCD scenario skipped: %v", err)
		return nil
	}
	if err != nil {
		say("KCD scenario skipped: the lab did not start: %v", err)
		return nil
	}
	return lab
}

// kcdSignIn signs alice in to the KCD app and keeps her session cookie.
func kcdSignIn(t *target) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "GET", t.base+"/private/whoami.shtml", nil)
	if err != nil {
		return err
	}
	req.Host = t.host
	req.Header.Set("X-Api-Key", kcdKey)
	resp, err := t.client.Do(req)
	if err != nil {
		return err
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), "REMOTE_USER=alice") {
		return fmt.Errorf("KCD sign-in: %s %.200q", resp.Status, body)
	}
	for _, c := range resp.Cookies() {
		if c.Name == "__Host-gatehouse.kcd" {
			t.header = http.Header{"Cookie": {c.Name + "=" + c.Value}}
			return nil
		}
	}
	return errors.New("KCD sign-in: no session cookie")
}
