#!/usr/bin/env bash
# Runs `go test -json ARGS...` through internal/tools/testsum, which prints
# failures, package results, every skip with its reason and a closing
# "tests: N passed, N failed, N skipped" line. With CI=true a skip fails
# the run (see testsum's doc). A leading "-C DIR" runs the tests of the
# module in DIR (a nested module such as sdk/), as go test -C does.
set -uo pipefail
GO=${GO:-go}
cd "$(dirname "$0")/.."
mkdir -p .tools/bin
"$GO" build -o .tools/bin/testsum ./internal/tools/testsum || exit 1
chdir=()
if [ "${1:-}" = "-C" ]; then
	chdir=(-C "$2")
	shift 2
fi
"$GO" test "${chdir[@]}" -json "$@" 2>&1 | .tools/bin/testsum
codes=("${PIPESTATUS[@]}")
[ "${codes[0]}" = 0 ] && [ "${codes[1]}" = 0 ]
