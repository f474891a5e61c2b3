#!/usr/bin/env bash
# haproxylab.sh - HAProxy from Debian for the tests that put several gateway nodes behind a real TCP
# load balancer (e2e/cluster_*_test.go). The tests run their own haproxy in the foreground
# (haproxy -f CFG -db) with a config written to a temporary directory and ports picked at run time;
# the system service (the haproxy package's own /etc/haproxy/haproxy.cfg) is never started or used.
#
# Usage (Debian 12):
#   scripts/haproxylab.sh install       apt-get update + install haproxy, only when it is missing (needs root)
#   scripts/haproxylab.sh version       print the path and version of the haproxy the tests will run
#   scripts/haproxylab.sh check CFG     check a config file (haproxy -c)
#
# Environment: HAPROXY_BIN (default: haproxy on PATH, else /usr/sbin/haproxy); the e2e tests read it too.
set -euo pipefail

ts() { date +%s.%N; }
el() { awk -v a="$1" -v b="$(ts)" 'BEGIN{printf "%.2fs", b-a}'; }
log() { printf '[haproxylab] %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

# haproxy_bin prints the haproxy binary the tests use.
haproxy_bin() {
	if [ -n "${HAPROXY_BIN:-}" ]; then
		[ -x "$HAPROXY_BIN" ] && { echo "$HAPROXY_BIN"; return 0; }
		return 1
	fi
	command -v haproxy 2>/dev/null && return 0
	[ -x /usr/sbin/haproxy ] && { echo /usr/sbin/haproxy; return 0; }
	return 1
}

cmd_install() {
	local t0 own_policy=""
	if haproxy_bin >/dev/null; then log "haproxy already installed ($(haproxy_bin))"; return 0; fi
	[ "$(id -u)" = 0 ] || die "installing haproxy needs root"
	t0=$(ts)
	# Keep the package's maintainer scripts from starting the system service: the tests never use it.
	if [ ! -e /usr/sbin/policy-rc.d ]; then
		printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d && own_policy=1
	fi
	log "apt-get update; installing haproxy"
	apt-get update -q -o DPkg::Lock::Timeout=600 >/dev/null
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q -o DPkg::Lock::Timeout=900 --no-install-recommends haproxy >/dev/null
	if [ -n "$own_policy" ]; then rm -f /usr/sbin/policy-rc.d; fi
	haproxy_bin >/dev/null || die "haproxy installed, but no haproxy binary found"
	log "haproxy installed ($(haproxy_bin)) in $(el "$t0")"
}

cmd_version() {
	local bin
	bin=$(haproxy_bin) || die "haproxy is not installed: run '$0 install' as root"
	echo "$bin: $("$bin" -v | head -n 1)"
}

cmd_check() {
	local bin
	[ -n "${1:-}" ] || die "usage: $0 check CFG"
	bin=$(haproxy_bin) || die "haproxy is not installed: run '$0 install' as root"
	"$bin" -c -f "$1"
}

case "${1:-}" in
install) cmd_install ;;
version) cmd_version ;;
check) shift; cmd_check "$@" ;;
*) sed -n '2,13p' "$0" >&2; exit 2 ;;
esac
