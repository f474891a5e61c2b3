package config

import (
	"strings"
	"testing"
)

func TestAdminListen(t *testing.T) {
	tests := []struct {
		name, yaml string
		want       string // "" for a valid config, else a fragment of the error
		addr       string
		dflt       bool
	}{
		{"left out: loopback default", "", "", "127.0.0.1:9180", true},
		{"off", "listen: {admin: \"off\"}\n", "", "off", false},
		{"loopback address", "listen: {admin: \"127.0.0.1:0\"}\n", "", "127.0.0.1:0", false},
		{"localhost", "listen: {admin: \"localhost:9999\"}\n", "", "localhost:9999", false},
		{"IPv6 loopback", "listen: {admin: \"[::1]:9180\"}\n", "", "[::1]:9180", false},
		{"every interface refused", "listen: {admin: \":9180\"}\n",
			`gatehouse.yaml:1:17: listen.admin: ":9180" can be reached from other hosts, and the admin listener has no TLS and no sign-in; use a loopback address such as "127.0.0.1:9180", or set admin.allow_remote: true`, "", false},
		{"public address refused", "listen: {admin: \"10.1.2.3:9180\"}\n", "admin.allow_remote: true", "", false},
		{"remote allowed", "listen: {admin: \"0.0.0.0:9180\"}\nadmin: {allow_remote: true, pprof: true}\n", "", "0.0.0.0:9180", false},
		{"public port refused", "listen: {public: \"127.0.0.1:8443\", admin: \"127.0.0.2:8443\"}\n",
			`listen.admin: "127.0.0.2:8443" uses port 8443, like listen.public ("127.0.0.1:8443"); the admin listener needs a port of its own`, "", false},
		{"tunnel port refused", "listen: {tunnel: \":7000\", admin: \"127.0.0.1:7000\"}\ntunnel: {advertise: [\"gw.example.com:7000\"]}\n", "like listen.tunnel", "", false},
		{"http port refused", "listen: {http: \":80\", admin: \"127.0.0.1:80\"}\n", "like listen.http", "", false},
		{"not an address", "listen: {admin: \"9180\"}\n", `listen.admin: "9180" is not host:port (write host:port, e.g. "127.0.0.1:9180", or off)`, "", false},
		{"unknown admin key", "admin: {pprof: yes-please}\n", "admin.pprof: expected true or false", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse("gatehouse.yaml", []byte(tt.yaml+appYAML))
			if tt.want != "" {
				if err == nil || !strings.Contains(err.Error(), tt.want) {
					t.Fatalf("error %v, want one with %q", err, tt.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.Listen.Admin != tt.addr || c.Listen.AdminDefault != tt.dflt {
				t.Errorf("listen.admin %q (default %v), want %q (default %v)", c.Listen.Admin, c.Listen.AdminDefault, tt.addr, tt.dflt)
			}
		})
	}
}

func TestLoopback(t *testing.T) {
	for host, want := range map[string]bool{"localhost": true, "LocalHost": true, "127.0.0.1": true, "127.8.9.10": true,
		"::1": true, "": false, "0.0.0.0": false, "::": false, "10.0.0.1": false, "gw.example.com": false} {
		if got := Loopback(host); got != want {
			t.Errorf("Loopback(%q) = %v, want %v", host, got, want)
		}
	}
}
