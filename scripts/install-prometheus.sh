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
if ! command -v apt-get >/dev/null 2>&1; then
	echo "install-prometheus: prometheus or promtool is missing, and apt-get is not available; install Prometheus by hand" >&2
	exit 1
fi
SUDO=
if [ "$(id -u)" != 0 ]; then
	if ! command -v sudo >/dev/null 2>&1; then
		echo "install-prometheus: installing prometheus needs root (or sudo)" >&2
		exit 1
	fi
	SUDO=sudo
fi
echo "install-prometheus: apt-get update; installing prometheus" >&2
$SUDO apt-get update -q -o DPkg::Lock::Timeout=600 >/dev/null
# policy-rc.d refuses service starts while the package installs (a test
# machine has no use for a Prometheus on port 9090).
policy=/usr/sbin/policy-rc.d
made_policy=
if [ ! -e "$policy" ]; then
	printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$policy" >/dev/null
	$SUDO chmod 755 "$policy"
	made_policy=1
fi
status=0
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q -o DPkg::Lock::Timeout=900 \
	--no-install-recommends prometheus >/dev/null || status=$?
if [ -n "$made_policy" ]; then
	$SUDO rm -f "$policy"
fi
if [ "$status" != 0 ]; then
	echo "install-prometheus: apt-get install prometheus failed (exit $status)" >&2
	exit "$status"
fi
if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
	$SUDO systemctl disable --now prometheus >/dev/null 2>&1 || true
fi
if ! command -v prometheus >/dev/null 2>&1 || ! command -v promtool >/dev/null 2>&1; then
	echo "install-prometheus: the package installed, but prometheus or promtool is not on PATH" >&2
	exit 1
fi
