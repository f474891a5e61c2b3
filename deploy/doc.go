// Package deploy holds what installs and watches Gatehouse on a host, and
// no code: hardened systemd units for the gateway and the connector with
// their system users (systemd/), and Prometheus alert rules with promtool
// test cases (prometheus/). Its tests check the files with the tools that
// read them: systemd-analyze verify and security, systemd-sysusers,
// promtool check rules and promtool test rules. README.md explains each
// setting; docs/OPERATING.md says how to install them.
package deploy
