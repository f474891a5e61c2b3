package config

import (
	"fmt"
	"path/filepath"
	"time"
)

// Defaults for keys left out of the file (see the field docs in config.go).
const (
	defaultDataDir           = "data"
	defaultPublic            = "127.0.0.1:8443"
	defaultTunnel            = "127.0.0.1:8444"
	defaultAdmin             = "127.0.0.1:9180"
	defaultHeartbeatInterval = Duration(10 * time.Second)
	defaultInactiveAfter     = Duration(30 * time.Second)
	defaultRemoveAfter       = Duration(240 * time.Hour)
	defaultTLSMode           = "self-signed"
	defaultStoreFile         = "gatehouse.db"
	defaultLogLevel          = "info"
	defaultLogFormat         = "text"
	defaultBackendTimeout    = Duration(60 * time.Second)
	defaultPathPrefix        = "/"
	defaultACMEDirectory     = "https://acme-v02.api.letsencrypt.org/directory"
)

// applyDefaults fills in what the file left out and makes relative paths
// absolute against the config file's directory. Strings default when empty;
// durations default only when their key is absent, because an explicit 0
// can mean something ("timeout: 0" is no limit) or be a mistake to report.
func (l *loader) applyDefaults(c *Config) {
	l.defaulted = map[string]bool{}

	l.str(&c.DataDir, "data_dir", defaultDataDir)
	c.DataDir = l.resolve(c.DataDir)

	l.str(&c.Listen.Public, "listen.public", defaultPublic)
	l.str(&c.Listen.Tunnel, "listen.tunnel", defaultTunnel)
	l.str(&c.Listen.Admin, "listen.admin", defaultAdmin)
	c.Listen.AdminDefault = l.defaulted["listen.admin"]

	if len(c.Tunnel.Advertise) == 0 {
		c.Tunnel.Advertise = []string{c.Listen.Tunnel}
		l.defaulted["tunnel.advertise"] = true
	}
	l.dur(&c.Tunnel.HeartbeatInterval, "tunnel.heartbeat_interval", defaultHeartbeatInterval)
	l.dur(&c.Tunnel.InactiveAfter, "tunnel.inactive_after", defaultInactiveAfter)
	l.dur(&c.Tunnel.RemoveAfter, "tunnel.remove_after", defaultRemoveAfter)
	l.clusterDefaults(c)
	l.releaseDefaults(c)

	l.str(&c.TLS.Mode, "tls.mode", defaultTLSMode)
	c.TLS.CertFile = l.resolve(c.TLS.CertFile)
	c.TLS.KeyFile = l.resolve(c.TLS.KeyFile)
	c.TLS.ACME.CARoots = l.resolve(c.TLS.ACME.CARoots)
	if c.TLS.Mode == "acme" {
		l.str(&c.TLS.ACME.Directory, "tls.acme.directory", defaultACMEDirectory)
		if len(c.TLS.ACME.Challenges) == 0 && !l.bad["tls.acme.challenges"] {
			c.TLS.ACME.Challenges = []string{"tls-alpn-01"}
			if c.Listen.HTTP != "" {
				c.TLS.ACME.Challenges = []string{"http-01", "tls-alpn-01"}
			}
			l.defaulted["tls.acme.challenges"] = true
		}
	}

	l.storeDefaults(c)

	l.str(&c.Log.Level, "log.level", defaultLogLevel)
	l.str(&c.Log.Format, "log.format", defaultLogFormat)

	l.dur(&c.Sessions.Lifetime, "sessions.lifetime", defaultSessionLifetime)

	for i := range c.Apps {
		a := &c.Apps[i]
		key := fmt.Sprintf("apps[%d]", i)
		l.str(&a.PathPrefix, key+".path_prefix", defaultPathPrefix)
		if a.TCP != nil {
			l.tcpDefaults(key, a) // tcp.go
		} else {
			l.dur(&a.Backend.Timeout, key+".backend.timeout", defaultBackendTimeout)
		}
		a.Backend.CAFile = l.resolve(a.Backend.CAFile)
		a.CertFile = l.resolve(a.CertFile)
		a.KeyFile = l.resolve(a.KeyFile)
		if c.TLS.Mode == "acme" && !l.present(key+".hsts") && !l.bad[key+".hsts"] {
			a.HSTS = DefaultHSTS
			l.defaulted[key+".hsts"] = true
		}
	}
}

// str sets *s to def when it is empty.
func (l *loader) str(s *string, key, def string) {
	if *s == "" {
		*s = def
		l.defaulted[key] = true
	}
}

// dur sets *d to def when key is absent from the file.
func (l *loader) dur(d *Duration, key string, def Duration) {
	if !l.present(key) && !l.bad[key] {
		*d = def
		l.defaulted[key] = true
	}
}

// resolve makes a relative path absolute against the config file's
// directory. Empty stays empty.
func (l *loader) resolve(p string) string {
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(l.dir, p)
}
