#!/bin/sh
# Installs nginx (Debian's nginx package) for `make bench`'s reference path:
# the bench starts its own nginx (its own config, loopback ports picked at
# run time, `daemon off;`, its own pid, log and temp paths under the bench's
# working directory) terminating TLS in front of the same backend as the
# ratios (bench/nginx.go). Idempotent: a no-op when nginx is installed.
# Needs root (or sudo) for apt-get. It never starts the distribution's
# service: service starts are refused while the package installs, and the
# service is stopped and disabled afterwards where systemd runs.
set -eu
PATH="$PATH:/usr/sbin:/sbin"
if command -v nginx >/dev/null 2>&1; then
	exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
	echo "install-nginx: nginx is missing, and apt-get is not available; install nginx by hand" >&2
	exit 1
fi
SUDO=
if [ "$(id -u)" != 0 ]; then
	if ! command -v sudo >/dev/null 2>&1; then
		echo "install-nginx: installing nginx needs root (or sudo)" >&2
		exit 1
	fi
	SUDO=sudo
fi
echo "install-nginx: apt-get update; installing nginx" >&2
$SUDO apt-get update -q -o DPkg::Lock::Timeout=600 >/dev/null
# policy-rc.d refuses service starts while the package installs: the
# bench runs its own nginx, never the distribution's on port 80.
policy=/usr/sbin/policy-rc.d
made_policy=
if [ ! -e "$policy" ]; then
	printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$policy" >/dev/null
	$SUDO chmod 755 "$policy"
	made_policy=1
fi
status=0
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q -o DPkg::Lock::Timeout=900 \
	--no-install-recommends nginx >/dev/null || status=$?
if [ -n "$made_policy" ]; then
	$SUDO rm -f "$policy"
fi
if [ "$status" != 0 ]; then
	echo "install-nginx: apt-get install nginx failed (exit $status)" >&2
	exit "$status"
fi
if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
	$SUDO systemctl disable --now nginx >/dev/null 2>&1 || true
fi
if ! command -v nginx >/dev/null 2>&1; then
	echo "install-nginx: the package installed, but nginx is not on PATH (or in /usr/sbin)" >&2
	exit 1
fi
