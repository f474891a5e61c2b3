package kcd

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/pluginhost"
	"github.com/gatehouse/gatehouse/pluginhost/pluginhosttest"
	"github.com/gatehouse/gatehouse/plugins/kcd/kcdlab"
	"github.com/jcmturner/gokrb5/v8/iana/etypeID"
	"github.com/jcmturner/gokrb5/v8/keytab"
)

var (
	// plugin is the plug-in binary, built once for the package's tests,
	// and bin its path.
	plugin pluginhost.Entry
	bin    string
	// lab is the running KCD lab, nil when there is none; labSkip says why.
	lab     *kcdlab.Lab
	labSkip string
)

func TestMain(m *testing.M) {
	os.Exit(testMain(m))
}

func testMain(m *testing.M) int {
	var remove func()
	var err error
	if plugin, remove, err = pluginhosttest.Build("kcd", "", "./cmd/gatehouse-plugin-kcd"); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer remove()
	bin = plugin.Path
	lab, err = kcdlab.Start(context.Background())
	switch {
	case errors.Is(err, kcdlab.ErrSkip):
		labSkip = err.Error()
		fmt.Println("kcd: tests against the real KDC and Apache skipped:", labSkip)
	case err != nil:
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer func() {
		if err := lab.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, err)
		}
	}()
	return m.Run()
}

// needLab skips t unless the lab runs.
func needLab(t testing.TB) *kcdlab.Lab {
	t.Helper()
	if lab == nil {
		t.Skip(labSkip)
	}
	return lab
}

// labConfig is a config for the lab's connector and backend, changed by
// the key/value pairs in kv.
func labConfig(t testing.TB, kv ...any) map[string]any {
	l := needLab(t)
	cfg := map[string]any{
		"spn": l.BackendSPN, "principal": l.ConnectorPrincipal, "realm": l.Realm,
		"keytab": l.ConnectorKeytab, "krb5_conf": l.Krb5Conf,
		"identity": "upn_user", "upn_domains": []any{"example.test"},
	}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == nil {
			delete(cfg, kv[i].(string))
		} else {
			cfg[kv[i].(string)] = kv[i+1]
		}
	}
	return cfg
}

// open starts the plug-in binary for app "intranet" with cfg, over the
// real protocol.
func open(t testing.TB, cfg map[string]any) (*pluginhost.Injector, error) {
	t.Helper()
	return pluginhosttest.Injector(t, pluginhost.Host{}, plugin, pluginhost.Use{App: "intranet", Config: cfg})
}

// offlineFiles writes a keytab for svc@EXAMPLE.TEST and a krb5.conf whose
// KDC refuses connections, for tests that need no KDC.
func offlineFiles(t testing.TB) (ktPath, krb5Path string) {
	t.Helper()
	dir := t.TempDir()
	kt := keytab.New()
	if err := kt.AddEntry("svc", "EXAMPLE.TEST", "secret", time.Now(), 1, etypeID.AES256_CTS_HMAC_SHA1_96); err != nil {
		t.Fatal(err)
	}
	b, err := kt.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	ktPath, krb5Path = filepath.Join(dir, "svc.keytab"), filepath.Join(dir, "krb5.conf")
	if err := os.WriteFile(ktPath, b, 0o600); err != nil {
		t.Fatal(err)
	}
	conf := "[libdefaults]\n default_realm = EXAMPLE.TEST\n[realms]\n EXAMPLE.TEST = {\n  kdc = 127.0.0.1:1\n }\n"
	if err := os.WriteFile(krb5Path, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	return ktPath, krb5Path
}

func mustJSON(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
