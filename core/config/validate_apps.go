package config

import (
	"crypto/tls"
	"fmt"
	"strings"
)

// checkGroups validates connector group names and returns the valid ones in
// file order.
func (l *loader) checkGroups(c *Config) []string {
	var names []string
	first := map[string]int{}
	for i, g := range c.ConnectorGroups {
		key := fmt.Sprintf("connector_groups[%d].name", i)
		if g.Name == "" {
			l.errorf(key, `missing: every connector group needs a name, e.g. "default"`)
			continue
		}
		if msg := checkName(g.Name, "connector group"); msg != "" {
			l.errorf(key, "%s", msg)
			continue
		}
		if j, dup := first[g.Name]; dup {
			l.errorf(key, "duplicate connector group %q (first defined at connector_groups[%d], line %d); group names must be unique",
				g.Name, j, l.line(fmt.Sprintf("connector_groups[%d]", j)))
			continue
		}
		first[g.Name] = i
		names = append(names, g.Name)
	}
	return names
}

// checkApps validates and normalises every app: unique valid names, valid
// host and path prefix with unique pairs, a defined group and a backend.
func (l *loader) checkApps(c *Config, groups []string) {
	groupsBad := l.bad["connector_groups"]
	if len(c.Apps) > 0 && len(c.ConnectorGroups) == 0 && !groupsBad {
		l.errorf("apps", "no connector group is defined, and every app needs one to reach its backend; add connector_groups: [{name: default}] and set group: default on each app")
	}
	names := map[string]int{}
	routes := map[string]int{} // host + " " + path prefix → app index
	certs := map[string]int{}  // host → index of the first app with cert_file
	for i := range c.Apps {
		a := &c.Apps[i]
		key := fmt.Sprintf("apps[%d]", i)

		switch msg := checkName(a.Name, "app"); {
		case a.Name == "":
			l.errorf(key+".name", `missing: every app needs a name for logs and tokens, e.g. "hr"`)
		case msg != "":
			l.errorf(key+".name", "%s", msg)
		default:
			if j, dup := names[a.Name]; dup {
				l.errorf(key+".name", "duplicate app name %q (first used by apps[%d] at line %d); app names must be unique",
					a.Name, j, l.line(fmt.Sprintf("apps[%d]", j)))
			} else {
				names[a.Name] = i
			}
		}

		hostOK, prefixOK := false, false
		if a.Host == "" {
			l.errorf(key+".host", `missing: the external host name users open, e.g. "hr.example.com"`)
		} else if h, msg := checkHost(a.Host); msg != "" {
			l.errorf(key+".host", "%s", msg)
		} else {
			a.Host, hostOK = h, true
		}
		if p, msg := checkPathPrefix(a.PathPrefix); msg != "" {
			l.errorf(key+".path_prefix", "%s", msg)
		} else {
			a.PathPrefix, prefixOK = p, true
		}
		if hostOK && prefixOK {
			route := a.Host + " " + a.PathPrefix
			if j, dup := routes[route]; dup {
				at := key + ".host"
				if l.present(key + ".path_prefix") {
					at = key + ".path_prefix"
				}
				l.errorf(at, "host %q with path_prefix %q is already used by app %q (apps[%d], line %d); change the host or path_prefix",
					a.Host, a.PathPrefix, c.Apps[j].Name, j, l.line(fmt.Sprintf("apps[%d]", j)))
			} else {
				routes[route] = i
			}
		}

		if len(c.ConnectorGroups) > 0 && !groupsBad {
			l.checkAppGroup(key+".group", a.Group, groups)
		}
		if a.TCP != nil { // tcp.go
			l.checkTCP(key, a)
		} else {
			l.checkAppBackend(key, a) // wildcard.go: {label}
		}
		l.checkWildcardApp(key, a)
		if l.checkAppCert(key, a) && hostOK {
			if j, ok := certs[a.Host]; ok && (c.Apps[j].CertFile != a.CertFile || c.Apps[j].KeyFile != a.KeyFile) {
				l.errorf(key+".cert_file", "host %q already has a certificate from app %q (apps[%d], line %d); apps that share a host must name the same cert_file and key_file",
					a.Host, c.Apps[j].Name, j, l.line(fmt.Sprintf("apps[%d]", j)))
			} else if !ok {
				certs[a.Host] = i
			}
		}
	}
	l.checkTCPHosts(c)
}

// checkAppCert validates an app's own certificate files, and reports
// whether it has a valid pair.
func (l *loader) checkAppCert(key string, a *App) bool {
	if a.CertFile == "" && a.KeyFile == "" {
		return false
	}
	cert := l.readFile(key+".cert_file", a.CertFile, "required with key_file: give the PEM certificate chain for this app's host")
	priv := l.readFile(key+".key_file", a.KeyFile, "required with cert_file: give the PEM private key of cert_file")
	if cert == nil || priv == nil {
		return false
	}
	if _, err := tls.X509KeyPair(cert, priv); err != nil {
		l.errorf(key+".cert_file", "%q and key_file %q do not load as a certificate and key pair: %v",
			l.written(key+".cert_file"), l.written(key+".key_file"), err)
		return false
	}
	return true
}

func (l *loader) checkAppGroup(key, group string, groups []string) {
	for _, g := range groups {
		if g == group {
			return
		}
	}
	hint := "add it under connector_groups"
	if len(groups) > 0 {
		hint += ", or use one of: " + strings.Join(groups, ", ")
	}
	if group == "" {
		l.errorf(key, "missing: the connector group that reaches this app's backend (%s)", strings.TrimPrefix(hint, "add it under connector_groups, or "))
		return
	}
	l.errorf(key, "connector group %q is not defined (%s)", group, hint)
}
