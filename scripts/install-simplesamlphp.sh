#!/bin/sh
# Installs SimpleSAMLphp (Debian's simplesamlphp package, 1.19 on Debian 12)
# and the PHP command-line interpreter, for the tests that sign in at a real
# SAML 2.0 identity provider (plugins/saml; its idplab package runs it with
# `php -S` on a loopback port, with its own config: nothing under /etc is
# changed or used), and that use it as a SAML service provider behind
# Gatehouse's own IdP (core/samlidp/splab, the same way). Idempotent: a no-op when everything is installed. Needs
# root (or sudo) for apt-get, and runs `apt-get update` before installing.
set -eu
PACKAGES="simplesamlphp php-cli php-xml php-mbstring php-curl openssl"

missing=""
for p in $PACKAGES; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing="$missing $p"
done
if [ -z "$missing" ] && command -v php >/dev/null 2>&1 && [ -f /usr/share/simplesamlphp/www/saml2/idp/SSOService.php ]; then
	exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
	echo "install-simplesamlphp: missing:$missing, and apt-get is not available; install SimpleSAMLphp 1.19 and php-cli by hand" >&2
	exit 1
fi
SUDO=
if [ "$(id -u)" != 0 ]; then
	if ! command -v sudo >/dev/null 2>&1; then
		echo "install-simplesamlphp: installing$missing needs root (or sudo)" >&2
		exit 1
	fi
	SUDO=sudo
fi

# simplesamlphp depends on apache2 + libapache2-mod-php, whose maintainer
# scripts would start Apache on port 80. The tests never use it: keep the
# services from starting, and remove only a policy file this script created.
OWN_POLICY=
if [ ! -e /usr/sbin/policy-rc.d ]; then
	printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
	$SUDO chmod 755 /usr/sbin/policy-rc.d
	OWN_POLICY=1
fi
trap 'if [ -n "$OWN_POLICY" ]; then $SUDO rm -f /usr/sbin/policy-rc.d; fi' EXIT
trap 'exit 1' HUP INT TERM

echo "install-simplesamlphp: apt-get update; installing$missing" >&2
start=$(date +%s)
$SUDO apt-get update -q -o DPkg::Lock::Timeout=600 >/dev/null
# shellcheck disable=SC2086
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q -o DPkg::Lock::Timeout=900 \
	--no-install-recommends $missing >/dev/null
if ! [ -f /usr/share/simplesamlphp/www/saml2/idp/SSOService.php ] || ! command -v php >/dev/null 2>&1; then
	echo "install-simplesamlphp: the packages installed, but php or /usr/share/simplesamlphp/www is missing" >&2
	exit 1
fi
echo "install-simplesamlphp: installed $(dpkg-query -W -f='${Package} ${Version}' simplesamlphp) and $(php -r 'echo "php ", PHP_VERSION;') in $(($(date +%s) - start)) s" >&2
