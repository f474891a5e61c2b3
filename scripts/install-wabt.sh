#!/bin/sh
# Installs wat2wasm (Debian's wabt package) for the WASM host's conformance
# tests, unless it is already on PATH. Idempotent; needs root for apt-get.
set -eu
if command -v wat2wasm >/dev/null 2>&1; then
	exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
	echo "install-wabt: wat2wasm is missing and apt-get is not available; install wabt by hand" >&2
	exit 1
fi
SUDO=
if [ "$(id -u)" != 0 ]; then
	SUDO=sudo
fi
echo "installing wabt (wat2wasm) with apt-get" >&2
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends wabt
command -v wat2wasm >/dev/null 2>&1
