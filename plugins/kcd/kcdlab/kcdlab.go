// Package kcdlab runs, for tests, the Kerberos constrained delegation lab
// of scripts/kcdlab.sh: an MIT KDC with an LDAP back end and Apache with
// mod_auth_gssapi on loopback. The plug-in's tests and the end-to-end suite
// use it the same way:
//
//	func TestMain(m *testing.M) {
//		lab, err := kcdlab.Start(context.Background())
//		... errors.Is(err, kcdlab.ErrSkip): run without the lab, say why
//		code := m.Run()
//		lab.Stop()
//		os.Exit(code)
//	}
//
// GATEHOUSE_KCDLAB decides what Start does:
//
//	unset    start a private lab when the script's prerequisites are
//	         installed and the process is root; otherwise skip
//	1        start a private lab, installing the packages first if needed
//	0        skip
//	DIR      use the lab already running in DIR (KCDLAB=DIR scripts/kcdlab.sh start)
//
// A private lab lives in a fresh directory under /tmp with ports picked at
// start, so test binaries running in parallel each have their own.
package kcdlab

import (
	"context"
	"errors"
	"fmt"
	"github.com/gatehouse/gatehouse/internal/labscript"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
)

// ErrSkip wraps the reason a lab is not available; a test should skip.
var ErrSkip = errors.New("KCD lab not available")

// Lab is a running lab. The principals are in Realm.
type Lab struct {
	Dir      string
	Realm    string
	Krb5Conf string // krb5.conf naming the lab's KDC
	KDCConf  string // kdc.conf, for kadmin.local
	KDCAddr  string // host:port, TCP and UDP

	ConnectorPrincipal string // trusted for protocol transition, may delegate to BackendSPN
	ConnectorKeytab    string
	NoProtoPrincipal   string // may delegate to BackendSPN, not trusted for protocol transition
	NoProtoKeytab      string

	BackendSPN    string // HTTP/backend.example.test, served by Apache
	BackendKeytab string
	OtherSPN      string // a service outside every delegation list

	BackendHost string // Host header of the backend, backend.example.test:PORT
	BackendAddr string // where to connect, 127.0.0.1:PORT
	BackendURL  string // the page that prints REMOTE_USER
	AccessLog   string // Apache's access log: "IP user=USER \"REQUEST\" STATUS" per request

	Delegable    []string // users that may be delegated (alice, bob, dave: dave is for changing)
	NotDelegable string   // a user marked not delegable (carol)
	UPNAlias     string   // alice's UPN, which the KDC resolves as an enterprise name

	script  *labscript.Script
	private bool
}

// Start returns a running lab, as GATEHOUSE_KCDLAB says (see the package
// doc). The error wraps ErrSkip when the lab is not available here.
func Start(ctx context.Context) (*Lab, error) {
	script, err := labscript.Find("kcdlab.sh", "KCDLAB", "gatehouse-kcdlab-", ErrSkip)
	if err != nil {
		return nil, err
	}
	lab, started, err := labscript.Open(ctx, labscript.Lab{Script: script, Env: "GATEHOUSE_KCDLAB", Name: "the KCD lab",
		Install: false, Missing: Missing, Skip: ErrSkip}, read)
	if err != nil {
		return nil, err
	}
	lab.script, lab.private = script, started
	return lab, nil
}

// Stop stops a lab that Start started, and removes its directory. A lab
// named by GATEHOUSE_KCDLAB=DIR is left running. Stop on nil does nothing.
func (l *Lab) Stop() error {
	if l == nil || !l.private {
		return nil
	}
	return l.script.Stop(l.Dir)
}

// Missing names what this machine lacks to start a lab, and what to do,
// "" if nothing.
func Missing() string {
	if os.Geteuid() != 0 {
		return "not root (the lab's Apache workers run as www-data): run the tests as root"
	}
	var missing []string
	for _, cmd := range []string{"krb5kdc", "kadmin.local", "kdb5_ldap_util", "slapd", "ldapmodify", "apache2"} {
		if _, err := labscript.LookPath(cmd); err != nil {
			missing = append(missing, cmd)
		}
	}
	for _, f := range []string{"/usr/lib/apache2/modules/mod_auth_gssapi.so", "/usr/share/doc/krb5-kdc-ldap/kerberos.schema.gz"} {
		if _, err := os.Stat(f); err != nil {
			missing = append(missing, f)
		}
	}
	if len(missing) > 0 {
		return "not installed: " + strings.Join(missing, ", ") + "; run `sudo scripts/kcdlab.sh install` or set GATEHOUSE_KCDLAB=1"
	}
	return ""
}

// read loads the lab.env the script wrote in dir.
func read(dir string) (*Lab, error) {
	env, err := labscript.ReadEnv(dir)
	if err != nil {
		return nil, err
	}
	l := &Lab{
		Dir: env["KCDLAB"], Realm: env["REALM"], Krb5Conf: env["KRB5_CONFIG"], KDCConf: env["KRB5_KDC_PROFILE"], KDCAddr: env["KDC_ADDR"],
		ConnectorPrincipal: env["CONNECTOR_PRINCIPAL"], ConnectorKeytab: env["CONNECTOR_KEYTAB"],
		NoProtoPrincipal: env["NOPROTO_PRINCIPAL"], NoProtoKeytab: env["NOPROTO_KEYTAB"],
		BackendSPN: env["BACKEND_SPN"], BackendKeytab: env["BACKEND_KEYTAB"], OtherSPN: env["OTHER_SPN"],
		BackendHost: env["BACKEND_HOST"], BackendAddr: env["BACKEND_ADDR"], BackendURL: env["BACKEND_URL"],
		AccessLog: env["ACCESS_LOG"], Delegable: strings.Split(env["DELEGABLE_USERS"], ","),
		NotDelegable: env["NOT_DELEGABLE_USER"], UPNAlias: env["UPN_ALIAS"],
	}
	if l.Realm == "" || l.KDCAddr == "" || l.BackendURL == "" || l.ConnectorKeytab == "" {
		return nil, fmt.Errorf("%s/lab.env lacks REALM, KDC_ADDR, BACKEND_URL or CONNECTOR_KEYTAB", dir)
	}
	return l, nil
}

// Get requests the backend's REMOTE_USER page with header, over a fresh
// connection, and returns the status and the body.
func (l *Lab) Get(ctx context.Context, header http.Header) (int, string, error) {
	return l.GetPath(ctx, "/private/whoami.shtml", header)
}

// GetPath is Get for another path of the backend; /index.html needs no
// sign-on.
func (l *Lab) GetPath(ctx context.Context, path string, header http.Header) (int, string, error) {
	u := "http://" + l.BackendHost + path
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return 0, "", err
	}
	for k, v := range header {
		req.Header[k] = v
	}
	tr := &http.Transport{
		DisableKeepAlives: true,
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, l.BackendAddr)
		},
	}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		return 0, "", fmt.Errorf("GET %s: %w", u, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, string(body), err
}

// Kadmin runs a kadmin.local query against the lab's database, like
// "modprinc -allow_forwardable dave". The KDC sees the change at once.
func (l *Lab) Kadmin(ctx context.Context, query string) error {
	kadmin, err := labscript.LookPath("kadmin.local")
	if err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, kadmin, "-q", query)
	cmd.Env = append(os.Environ(), "KRB5_CONFIG="+l.Krb5Conf, "KRB5_KDC_PROFILE="+l.KDCConf)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("kadmin.local -q %q: %w\n%s", query, err, out)
	}
	return nil
}

// AccessLogLines is Apache's access log, one request a line.
func (l *Lab) AccessLogLines() ([]string, error) {
	b, err := os.ReadFile(l.AccessLog)
	if err != nil {
		return nil, fmt.Errorf("reading the backend's access log: %w", err)
	}
	text := strings.TrimSpace(string(b))
	if text == "" {
		return nil, nil
	}
	return strings.Split(text, "\n"), nil
}
