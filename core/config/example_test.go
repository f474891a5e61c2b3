package config_test

import (
	"fmt"

	"github.com/gatehouse/gatehouse/core/config"
)

func ExampleLoad() {
	c, err := config.Load("testdata/good/minimal.yaml")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("public:", c.Listen.Public, "tunnel:", c.Listen.Tunnel)
	for _, a := range c.Apps {
		fmt.Printf("app %s: https://%s%s via %s -> %s (timeout %s)\n",
			a.Name, a.Host, a.PathPrefix, a.Group, a.Backend.URL, a.Backend.Timeout)
	}
	// Output:
	// public: 127.0.0.1:8443 tunnel: 127.0.0.1:8444
	// app hr: https://hr.example.com/ via default -> http://10.0.0.5:8080 (timeout 1m)
}

func ExampleLoad_errors() {
	_, err := config.Load("testdata/bad/several-errors.yaml")
	fmt.Println(err)
	// Output:
	// testdata/bad/several-errors.yaml:3:11: listen.public: "8443" is not host:port (write host:port, e.g. ":443" or "127.0.0.1:8443")
	// testdata/bad/several-errors.yaml:5:19: tunnel.inactive_after: "3x" is not a duration (write e.g. 30s, 10m, 240h)
	// testdata/bad/several-errors.yaml:7:9: tls.mode: "letsencrypt" is not a TLS mode (use self-signed, files or acme)
	// testdata/bad/several-errors.yaml:9:10: log.level: "verbose" is not a log level (use debug, info, warn or error)
	// testdata/bad/several-errors.yaml:10:3: log.colour: unknown key "colour" (known keys: level, format, access_query)
	// testdata/bad/several-errors.yaml:13:11: connector_groups[1].name: "Default" is not a valid connector group name (use 1-63 lower-case letters, digits and "-", starting with a letter or digit); write "default"
	// testdata/bad/several-errors.yaml:14:11: connector_groups[2].name: duplicate connector group "default" (first defined at connector_groups[0], line 12); group names must be unique
	// testdata/bad/several-errors.yaml:18:12: apps[0].group: connector group "paris" is not defined (add it under connector_groups, or use one of: default)
	// testdata/bad/several-errors.yaml:22:16: apps[0].backend.timeout: "1 minute" is not a duration (write e.g. 30s, 10m, 240h)
	// testdata/bad/several-errors.yaml:23:11: apps[1].name: duplicate app name "hr" (first used by apps[0] at line 16); app names must be unique
	// testdata/bad/several-errors.yaml:24:11: apps[1].host: host "hr.example.com" with path_prefix "/" is already used by app "hr" (apps[0], line 16); change the host or path_prefix
	// testdata/bad/several-errors.yaml:28:12: apps[1].backend.url: "ftp://10.0.0.6": scheme "ftp" is not supported; use http:// or https://
}
