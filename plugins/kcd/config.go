package kcd

import (
	"errors"
	"fmt"
	"net"
	"os"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/gatehouse/gatehouse/plugins/kcd/internal/s4u"
	"github.com/gatehouse/gatehouse/sdk"
	krb5config "github.com/jcmturner/gokrb5/v8/config"
	"github.com/jcmturner/gokrb5/v8/iana/nametype"
	"github.com/jcmturner/gokrb5/v8/keytab"
	"github.com/jcmturner/gokrb5/v8/types"
)

// config is the plug-in's config block; see README.md.
type config struct {
	SPN        string        `json:"spn"`
	Identity   string        `json:"identity"`
	UPNDomains []string      `json:"upn_domains"`
	Keytab     string        `json:"keytab"`
	Principal  string        `json:"principal"`
	Realm      string        `json:"realm"`
	Krb5Conf   string        `json:"krb5_conf"`
	KDC        []string      `json:"kdc"`
	Timeout    time.Duration `json:"timeout"`
	CacheSize  int           `json:"cache_size"`
}

// Defaults and bounds.
const (
	defaultKrb5Conf  = "/etc/krb5.conf"
	defaultCacheSize = 10000
	maxCacheSize     = 1000000
	minTimeout       = time.Second
	maxTimeout       = 2 * time.Minute
)

// settings is a checked config, ready to use.
type settings struct {
	spn       types.PrincipalName
	mapper    mapper
	client    s4u.Config
	keytab    string
	timeout   time.Duration
	cacheSize int
}

// decode decodes and checks the app's config block. Every problem is a
// *sdk.FieldError naming its key.
func decode(req sdk.ConfigureRequest) (settings, error) {
	cfg := config{Identity: "upn", Timeout: s4u.DefaultTimeout, CacheSize: defaultCacheSize}
	if err := req.Decode(&cfg); err != nil {
		return settings{}, err
	}
	var s settings
	var err error
	if cfg.SPN == "" {
		return s, sdk.FieldErrorf("spn", "required: the backend's service principal name, like HTTP/intranet.example.com")
	}
	if s.spn, err = s4u.SPN(cfg.SPN); err != nil {
		return s, sdk.FieldErrorf("spn", "%v (service/host, without @REALM)", err)
	}
	if cfg.Timeout < minTimeout || cfg.Timeout > maxTimeout {
		return s, sdk.FieldErrorf("timeout", "must be between %v and %v, got %v", minTimeout, maxTimeout, cfg.Timeout)
	}
	if cfg.CacheSize < 1 || cfg.CacheSize > maxCacheSize {
		return s, sdk.FieldErrorf("cache_size", "must be between 1 and %d, got %d", maxCacheSize, cfg.CacheSize)
	}
	s.timeout, s.cacheSize = cfg.Timeout, cfg.CacheSize
	if req.CheckOnly {
		// The gateway checks the config; the keytab and krb5.conf are on
		// the connector's host.
		switch {
		case cfg.Keytab == "":
			return s, sdk.FieldErrorf("keytab", "required: the path of the connector account's keytab")
		case cfg.Principal == "":
			return s, sdk.FieldErrorf("principal", "required: the connector's account, whose key is in the keytab, like svc-gatehouse")
		}
		s.mapper, err = newMapper(cfg.Identity, cfg.UPNDomains, cfg.Realm)
		return s, err
	}

	krb5, err := loadKrb5(cfg)
	if err != nil {
		return s, err
	}
	principal, realm, err := principalAndRealm(cfg, krb5)
	if err != nil {
		return s, err
	}
	if _, _, err := krb5.GetKDCs(realm, true); err != nil {
		field := "krb5_conf"
		if len(cfg.KDC) > 0 {
			field = "kdc"
		}
		return s, sdk.FieldErrorf(field, "no KDC for realm %s: %v", realm, err)
	}
	if s.mapper, err = newMapper(cfg.Identity, cfg.UPNDomains, realm); err != nil {
		return s, err
	}
	kt, err := loadKeytab(cfg.Keytab, principal, realm)
	if err != nil {
		return s, err
	}
	s.keytab = cfg.Keytab
	s.client = s4u.Config{Krb5: krb5, Keytab: kt, Principal: principal, Realm: realm, Timeout: cfg.Timeout}
	return s, nil
}

// loadKrb5 is the Kerberos configuration: the kdc list if there is one,
// else the krb5.conf file.
func loadKrb5(cfg config) (*krb5config.Config, error) {
	if len(cfg.KDC) > 0 {
		if cfg.Krb5Conf != "" {
			return nil, sdk.FieldErrorf("kdc", "set kdc or krb5_conf, not both")
		}
		if cfg.Realm == "" {
			return nil, sdk.FieldErrorf("realm", "required with kdc: the realm the KDCs serve, like EXAMPLE.COM")
		}
		c := krb5config.New()
		c.LibDefaults.DefaultRealm = cfg.Realm
		r := krb5config.Realm{Realm: cfg.Realm}
		for i, addr := range cfg.KDC {
			a, err := kdcAddr(addr)
			if err != nil {
				return nil, sdk.FieldErrorf(fmt.Sprintf("kdc[%d]", i), "%v", err)
			}
			r.KDC = append(r.KDC, a)
		}
		c.Realms = []krb5config.Realm{r}
		return c, nil
	}
	path := cfg.Krb5Conf
	if path == "" {
		path = defaultKrb5Conf
	}
	if _, err := os.Stat(path); err != nil {
		return nil, sdk.FieldErrorf("krb5_conf", "cannot read %s: %v; give the path of a krb5.conf that names the realm's KDCs, or list them in kdc", path, unwrapPath(err))
	}
	c, err := krb5config.Load(path)
	var unsupported krb5config.UnsupportedDirective
	if err != nil && !errors.As(err, &unsupported) {
		return nil, sdk.FieldErrorf("krb5_conf", "%s: %v", path, err)
	}
	return c, nil
}

// kdcAddr checks a KDC address, host or host:port, and adds port 88.
func kdcAddr(s string) (string, error) {
	if s == "" || strings.ContainsAny(s, " \t\r\n\x00/") {
		return "", fmt.Errorf("%q is not a KDC address like kdc.example.com or 10.0.0.5:88", s)
	}
	if _, _, err := net.SplitHostPort(s); err == nil {
		return s, nil
	}
	if ip := net.ParseIP(s); ip != nil { // an address without port, IPv6 too
		return net.JoinHostPort(s, "88"), nil
	}
	if strings.Contains(s, ":") {
		return "", fmt.Errorf("%q is not a KDC address like kdc.example.com or 10.0.0.5:88", s)
	}
	return net.JoinHostPort(s, "88"), nil
}

// principalAndRealm is the connector's principal and realm: principal may
// carry the realm ("svc@EXAMPLE.COM"); realm defaults to krb5.conf's
// default_realm.
func principalAndRealm(cfg config, krb5 *krb5config.Config) (types.PrincipalName, string, error) {
	if cfg.Principal == "" {
		return types.PrincipalName{}, "", sdk.FieldErrorf("principal", "required: the connector's account, whose key is in the keytab, like svc-gatehouse")
	}
	name, realm := cfg.Principal, cfg.Realm
	if n, r, ok := strings.Cut(cfg.Principal, "@"); ok {
		if r == "" || strings.Contains(r, "@") || (realm != "" && r != realm) {
			return types.PrincipalName{}, "", sdk.FieldErrorf("principal", "%q: the realm after @ must be one realm, the same as realm (%q)", cfg.Principal, cfg.Realm)
		}
		name, realm = n, r
	}
	if realm == "" {
		realm = krb5.LibDefaults.DefaultRealm
	}
	if realm == "" {
		return types.PrincipalName{}, "", sdk.FieldErrorf("realm", "required: krb5.conf has no default_realm")
	}
	if strings.ContainsAny(realm, " \t\r\n\x00/@") {
		return types.PrincipalName{}, "", sdk.FieldErrorf("realm", "%q is not a realm like EXAMPLE.COM", realm)
	}
	parts := strings.Split(name, "/")
	if slices.Contains(parts, "") || strings.ContainsAny(name, " \t\r\n\x00") {
		return types.PrincipalName{}, "", sdk.FieldErrorf("principal", "%q is not a principal name like svc-gatehouse or HTTP/gw.example.com", cfg.Principal)
	}
	nt := nametype.KRB_NT_PRINCIPAL
	if len(parts) > 1 {
		nt = nametype.KRB_NT_SRV_INST
	}
	return types.PrincipalName{NameType: nt, NameString: parts}, realm, nil
}

// loadKeytab reads the keytab at path and checks that it has a key for
// principal@realm.
func loadKeytab(path string, principal types.PrincipalName, realm string) (*keytab.Keytab, error) {
	if path == "" {
		return nil, sdk.FieldErrorf("keytab", "required: the path of the connector account's keytab")
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, sdk.FieldErrorf("keytab", "cannot read %s: %v; export the connector account's keytab there (ktutil, ktpass or samba-tool domain exportkeytab) and let the connector's user read it", path, unwrapPath(err))
	}
	kt, err := parseKeytab(b)
	if err != nil {
		return nil, sdk.FieldErrorf("keytab", "%s is not a keytab: %s", path, printable(err.Error(), "corrupt or truncated"))
	}
	want := principal.PrincipalNameString() + "@" + realm
	var have []string
	for _, e := range kt.Entries {
		p := strings.Join(e.Principal.Components, "/") + "@" + e.Principal.Realm
		if p == want {
			return kt, nil
		}
		if !slices.Contains(have, p) {
			have = append(have, p)
		}
	}
	return nil, sdk.FieldErrorf("keytab", "%s has no key for %s (it has keys for: %s); check principal and realm, or export the right account's keytab",
		path, want, strings.Join(have, ", "))
}

// parseKeytab decodes a keytab; gokrb5's decoder can panic on a corrupt
// file, which must not take the plug-in down.
func parseKeytab(b []byte) (kt *keytab.Keytab, err error) {
	defer func() {
		if r := recover(); r != nil {
			kt, err = nil, fmt.Errorf("corrupt (%v)", r)
		}
	}()
	kt = keytab.New()
	if err := kt.Unmarshal(b); err != nil {
		return nil, err
	}
	return kt, nil
}

// printable is s, or instead if s has bytes that are not printable text
// (gokrb5's keytab errors quote the raw bytes).
func printable(s, instead string) string {
	if !utf8.ValidString(s) || strings.IndexFunc(s, func(r rune) bool { return !unicode.IsPrint(r) }) >= 0 {
		return instead
	}
	return s
}

// unwrapPath drops the path an *os.PathError repeats.
func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
