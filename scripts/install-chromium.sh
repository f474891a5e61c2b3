#!/bin/sh
# Installs headless Chromium for the browser end-to-end tests (e2e/browser):
# Debian's chromium package, whose real binary is /usr/lib/chromium/chromium
# (the harness runs it directly, not the /usr/bin/chromium wrapper script),
# fonts-liberation so pages render text, and libnss3-tools for certutil, with
# which the harness adds a test CA to a throw-away NSS database. Idempotent: a
# no-op when everything is installed. Needs root (or sudo) for apt-get, and
# runs `apt-get update` before installing.
set -eu
CHROME=/usr/lib/chromium/chromium
PACKAGES="chromium fonts-liberation libnss3-tools"

missing=""
for p in $PACKAGES; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing="$missing $p"
done
if [ -z "$missing" ] && [ -x "$CHROME" ] && command -v certutil >/dev/null 2>&1; then
	exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
	echo "install-chromium: missing:$missing, and apt-get is not available; install Chromium (binary at $CHROME) and certutil (NSS tools) by hand" >&2
	exit 1
fi
SUDO=
if [ "$(id -u)" != 0 ]; then
	if ! command -v sudo >/dev/null 2>&1; then
		echo "install-chromium: installing$missing needs root (or sudo)" >&2
		exit 1
	fi
	SUDO=sudo
fi

echo "install-chromium: apt-get update; installing$missing" >&2
start=$(date +%s)
$SUDO apt-get update -q -o DPkg::Lock::Timeout=600 >/dev/null
# shellcheck disable=SC2086
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q -o DPkg::Lock::Timeout=900 \
	--no-install-recommends $missing >/dev/null
if ! [ -x "$CHROME" ] || ! command -v certutil >/dev/null 2>&1; then
	echo "install-chromium: the packages installed, but $CHROME or certutil is missing" >&2
	exit 1
fi
echo "install-chromium: installed $("$CHROME" --version 2>/dev/null || echo chromium) and certutil in $(($(date +%s) - start)) s" >&2
