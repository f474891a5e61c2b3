#!/usr/bin/env bash
# Prints Gatehouse's patch set as one diff against upstream yamux v0.1.2:
# fetches the published module with the go command and runs diff -ru,
# leaving out the files that are Gatehouse's own (PATCHES.md, this
# script, the patch tests) and upstream's .github (CI settings, not kept).
# The patch files patch_*.go appear whole, as new files.
# Usage: third_party/yamux/upstream-diff.sh [diff options]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
version=v0.1.2
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
dir="$(cd "$tmp" && GO111MODULE=on go mod download -json "github.com/hashicorp/yamux@$version" |
	sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
if [ -z "$dir" ] || [ ! -d "$dir" ]; then
	echo "upstream-diff.sh: could not fetch github.com/hashicorp/yamux@$version (go mod download gave no directory)" >&2
	exit 2
fi
rc=0
diff -ruN "$@" -x .github -x PATCHES.md -x upstream-diff.sh -x 'patch_*_test.go' "$dir" "$here" || rc=$?
# diff exits 1 when the trees differ, which is the point here.
[ "$rc" -le 1 ]
