#!/bin/sh
# Installs a real RDP server and client from Debian for the RDP e2e test
# (e2e/rdp_test.go): xrdp (the server; the test runs it in the foreground
# with its own xrdp.ini, key and certificate in a temporary directory, on a
# loopback port picked at run time), freerdp2-x11 (xfreerdp, the client),
# xvfb (the X server xfreerdp draws into) and x11-apps (xwd, which dumps the
# screen; the test turns the dump into a PNG itself). The packages' system
# services are never started: a policy-rc.d refuses them during the install.
# Idempotent: a no-op when every tool is there. Needs root (or sudo) for
# apt-get, and runs `apt-get update` before installing.
set -eu
have() { command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ]; }
if have xrdp && have xrdp-keygen && have xfreerdp && have Xvfb && have xwd; then
	exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
	echo "install-rdp: xrdp, xfreerdp, Xvfb or xwd is missing and apt-get is not available; install xrdp, freerdp2-x11, xvfb and x11-apps by hand" >&2
	exit 1
fi
SUDO=
if [ "$(id -u)" != 0 ]; then
	if ! command -v sudo >/dev/null 2>&1; then
		echo "install-rdp: installing xrdp, freerdp2-x11, xvfb and x11-apps needs root (or sudo)" >&2
		exit 1
	fi
	SUDO=sudo
fi
# Keep the maintainer scripts from starting xrdp's system service: the test
# never uses it.
own_policy=
if [ ! -e /usr/sbin/policy-rc.d ]; then
	printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
	$SUDO chmod 755 /usr/sbin/policy-rc.d
	own_policy=1
fi
echo "install-rdp: apt-get update; installing xrdp, freerdp2-x11, xvfb and x11-apps" >&2
$SUDO apt-get update -q -o DPkg::Lock::Timeout=600 >/dev/null
status=0
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q -o DPkg::Lock::Timeout=900 \
	--no-install-recommends xrdp freerdp2-x11 xvfb x11-apps >/dev/null || status=$?
if [ -n "$own_policy" ]; then
	$SUDO rm -f /usr/sbin/policy-rc.d
fi
if [ "$status" != 0 ]; then
	echo "install-rdp: apt-get install failed (exit $status)" >&2
	exit "$status"
fi
for tool in xrdp xrdp-keygen xfreerdp Xvfb xwd; do
	if ! have "$tool"; then
		echo "install-rdp: installed the packages, but $tool is still missing" >&2
		exit 1
	fi
done
