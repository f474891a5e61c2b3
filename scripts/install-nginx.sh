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
. "$(dirname "$0")/apt-service-package.sh"
apt_service_package install-nginx nginx nginx
if ! command -v nginx >/dev/null 2>&1; then
	echo "install-nginx: the package installed, but nginx is not on PATH (or in /usr/sbin)" >&2
	exit 1
fi
