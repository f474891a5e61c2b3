#!/bin/sh
# Installs panva's oidc-provider (an OpenID-certified OpenID provider library
# for Node.js) with npm into <repo>/.tools/oidc-provider, for the tests that
# sign in at a real OpenID provider (plugins/oidc; its oplab package runs
# plugins/oidc/testdata/op.mjs with it). Idempotent, safe to run from several
# test binaries at once; nothing is installed globally. Needs Node.js and npm
# (Node 20 works; the library prefers 22 and says so in its log).
set -eu
OIDC_PROVIDER_VERSION=9.13.3
ROOT=$(cd "$(dirname "$0")/.." && pwd)
DIR="$ROOT/.tools/oidc-provider"
PKG="$DIR/node_modules/oidc-provider/package.json"
LOCK="$ROOT/.tools/oidc-provider.lock"

installed() {
	[ -f "$PKG" ] && grep -q "\"version\": \"$OIDC_PROVIDER_VERSION\"" "$PKG"
}

if installed; then
	exit 0
fi
for tool in node npm; do
	if ! command -v "$tool" >/dev/null 2>&1; then
		echo "install-oidc-provider: $tool is not on PATH; install Node.js 20 or later with npm (Debian: apt-get install nodejs npm)" >&2
		exit 1
	fi
done

# One install at a time: mkdir is atomic.
mkdir -p "$ROOT/.tools"
tries=0
until mkdir "$LOCK" 2>/dev/null; do
	tries=$((tries + 1))
	if [ "$tries" -gt 600 ]; then
		echo "install-oidc-provider: $LOCK has been held for 10 minutes; remove it if no install is running" >&2
		exit 1
	fi
	sleep 1
done
TMP=
trap 'rm -rf "$TMP"; rmdir "$LOCK"' EXIT
trap 'exit 1' HUP INT TERM
if installed; then # another install finished while this one waited
	exit 0
fi

echo "installing oidc-provider $OIDC_PROVIDER_VERSION with npm into $DIR" >&2
# Install into a fresh directory and rename it into place, so an interrupted
# install never looks like a finished one.
TMP=$(mktemp -d "$ROOT/.tools/oidc-provider.XXXXXX")
printf '{"name":"gatehouse-test-oidc-provider","private":true,"type":"module"}\n' >"$TMP/package.json"
(cd "$TMP" && npm install --no-audit --no-fund --no-update-notifier --loglevel=error --save-exact \
	"oidc-provider@$OIDC_PROVIDER_VERSION")
# Check that this node can load it now, not in the middle of a test.
if ! (cd "$TMP" && node --input-type=module -e "await import('oidc-provider')" 2>/dev/null); then
	echo "install-oidc-provider: oidc-provider $OIDC_PROVIDER_VERSION does not load with node $(node --version)" >&2
	exit 1
fi
rm -rf "$DIR"
mv "$TMP" "$DIR"
TMP=
echo "installed oidc-provider $OIDC_PROVIDER_VERSION in $DIR" >&2
