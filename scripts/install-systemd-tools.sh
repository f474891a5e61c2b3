#!/bin/sh
# Installs systemd-analyze and systemd-sysusers (Debian's systemd package)
# for the deploy/ tests, which check the shipped units offline: they need
# no running systemd. systemd-analyze verify also wants every command a
# unit runs to exist, /bin/kill (procps) included. It also installs zsh and
# fish, whose syntax checks run on `gatehouse completion`'s scripts.
# Idempotent: a no-op when all of them are there. Needs root (or sudo) for apt-get, and runs
# `apt-get update` before installing.
set -eu
if command -v systemd-analyze >/dev/null 2>&1 && command -v systemd-sysusers >/dev/null 2>&1 && [ -x /bin/kill ] &&
	command -v zsh >/dev/null 2>&1 && command -v fish >/dev/null 2>&1; then
	exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
	echo "install-systemd-tools: systemd-analyze or systemd-sysusers is missing, and apt-get is not available; install systemd by hand" >&2
	exit 1
fi
SUDO=
if [ "$(id -u)" != 0 ]; then
	if ! command -v sudo >/dev/null 2>&1; then
		echo "install-systemd-tools: installing systemd needs root (or sudo)" >&2
		exit 1
	fi
	SUDO=sudo
fi
echo "install-systemd-tools: apt-get update; installing systemd, procps, zsh and fish" >&2
$SUDO apt-get update -q -o DPkg::Lock::Timeout=600 >/dev/null
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q -o DPkg::Lock::Timeout=900 \
	--no-install-recommends systemd procps zsh fish >/dev/null
if ! command -v systemd-analyze >/dev/null 2>&1 || ! command -v systemd-sysusers >/dev/null 2>&1 || [ ! -x /bin/kill ] ||
	! command -v zsh >/dev/null 2>&1 || ! command -v fish >/dev/null 2>&1; then
	echo "install-systemd-tools: the packages installed, but systemd-analyze, systemd-sysusers, /bin/kill, zsh or fish is missing" >&2
	exit 1
fi
