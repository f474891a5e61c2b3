#!/bin/sh
# Installs the Prometheus server and promtool (Debian's prometheus package)
# for the monitoring end-to-end tests (e2e/metrics_test.go), which start a
# real Prometheus that scrapes a gateway's admin listener. Idempotent: a
# no-op when both are on PATH. Needs root (or sudo) for apt-get, and runs
# `apt-get update` before installing. The package's own service is stopped
# and disabled where systemd runs: the tests start their own server.
set -eu
if command -v prometheus >/dev/null 2>&1 && command -v promtool >/dev/null 2>&1; then
	exit 0
fi
. "$(dirname "$0")/apt-service-package.sh"
apt_service_package install-prometheus prometheus prometheus
if ! command -v prometheus >/dev/null 2>&1 || ! command -v promtool >/dev/null 2>&1; then
	echo "install-prometheus: the package installed, but prometheus or promtool is not on PATH" >&2
	exit 1
fi
