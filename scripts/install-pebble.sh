#!/bin/sh
# Installs Pebble (a small ACME server) and pebble-challtestsrv into
# <repo>/.tools/bin for the ACME end-to-end tests, unless they are there.
set -eu
PEBBLE_VERSION=v2.10.3
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN="$ROOT/.tools/bin"
GO=${GO:-go}
if [ -x "$BIN/pebble" ] && [ -x "$BIN/pebble-challtestsrv" ]; then
	exit 0
fi
mkdir -p "$BIN"
echo "installing pebble $PEBBLE_VERSION into $BIN" >&2
GOBIN="$BIN" "$GO" install \
	"github.com/letsencrypt/pebble/v2/cmd/pebble@$PEBBLE_VERSION" \
	"github.com/letsencrypt/pebble/v2/cmd/pebble-challtestsrv@$PEBBLE_VERSION"
