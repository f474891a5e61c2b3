#!/usr/bin/env bash
# Runs `go test -json ARGS...` through internal/tools/testsum, which prints
# failures, package results, every skip with its reason and a closing
# "tests: N passed, N failed, N skipped" line. With CI=true a skip fails
# the run (see testsum's doc).
set -uo pipefail
GO=${GO:-go}
cd "$(dirname "$0")/.."
mkdir -p .tools/bin
"$GO" build -o .tools/bin/testsum ./internal/tools/testsum || exit 1
"$GO" test -json "$@" 2>&1 | .tools/bin/testsum
codes=("${PIPESTATUS[@]}")
[ "${codes[0]}" = 0 ] && [ "${codes[1]}" = 0 ]
