#!/usr/bin/env bash
# Runs every Go fuzz target in the repository (func FuzzXxx(f *testing.F) in
# a _test.go file), one after the other, each for DURATION (default 10s), and
# prints each target's time and result. A second argument, a regular
# expression, runs only the targets whose name matches it.
#
#   scripts/fuzz.sh 60s            every target for a minute (make fuzz)
#   scripts/fuzz.sh 5s             the short run of make test
#   scripts/fuzz.sh 2m Envelope    the envelope targets only
#
# FUZZ_PARALLEL=N sets the fuzzing workers per target (go test -parallel;
# default GOMAXPROCS). FUZZ_MINIMIZE (default 5s) bounds the minimizing of
# each new interesting input: go test's default, 60s, can take a whole run
# for targets with slow inputs (SAML responses). A failing input is saved by go test into the target's
# testdata/fuzz/FuzzXxx/ directory: keep it there, it is a regression test.
# `go test` without -fuzz runs every checked-in input as a plain test.
set -uo pipefail
GO=${GO:-go}
duration=${1:-10s}
only=${2:-.}
cd "$(dirname "$0")/.."

# Find the targets with grep rather than `go test -list`, which would build
# and start every test binary (and their TestMains) just to list them.
mapfile -t targets < <(grep -rEo --include='*_test.go' --exclude-dir=.tools --exclude-dir=node_modules \
	--exclude-dir=testdata '^func Fuzz[A-Za-z0-9_]*\(f \*testing\.F\)' . |
	sed -E 's#^\./(.*)/[^/]*:func (Fuzz[A-Za-z0-9_]*).*#\1 \2#' | sort -u | grep -E " .*${only}")
if [ ${#targets[@]} -eq 0 ]; then
	echo "fuzz: no fuzz targets match ${only}" >&2
	exit 1
fi

parallel=()
[ -n "${FUZZ_PARALLEL:-}" ] && parallel=(-parallel "$FUZZ_PARALLEL")
failed=()
echo "fuzz: ${#targets[@]} targets, ${duration} each"
# modof prints the directory of the nested module (with its own go.mod)
# that holds package directory $1, or "." for the main module.
modof() {
	local d=$1
	while [ "$d" != "." ] && [ ! -f "$d/go.mod" ]; do d=$(dirname "$d"); done
	echo "$d"
}
for t in "${targets[@]}"; do
	dir=${t% *} name=${t#* }
	mod=$(modof "$dir")
	if [ "$mod" = "." ]; then pkg=./$dir; else pkg=.${dir#"$mod"}; fi
	start=$(date +%s)
	out=$("$GO" test -C "$mod" "$pkg" -run '^$' -fuzz "^${name}\$" -fuzztime "$duration" -fuzzminimizetime "${FUZZ_MINIMIZE:-5s}" "${parallel[@]}" 2>&1)
	rc=$?
	# go test's fuzzing engine can end a short run with "context deadline
	# exceeded" when the time runs out while it is still minimising a new
	# input; nothing failed, and no input was written. Run that target once
	# more; a real failure always writes its input and is never retried.
	if [ $rc -ne 0 ] && grep -q 'context deadline exceeded' <<<"$out" && ! grep -q 'Failing input written' <<<"$out"; then
		echo "fuzz: $name: the fuzzing engine ran out of time while minimising (no failing input); running it once more"
		out=$("$GO" test -C "$mod" "$pkg" -run '^$' -fuzz "^${name}\$" -fuzztime "$duration" -fuzzminimizetime "${FUZZ_MINIMIZE:-5s}" "${parallel[@]}" 2>&1)
		rc=$?
	fi
	secs=$(($(date +%s) - start))
	execs=$(grep -Eo 'execs: [0-9]+' <<<"$out" | tail -1)
	if [ $rc -eq 0 ]; then
		printf 'ok    %-28s %-22s %4ds  %s\n' "$name" "./$dir" "$secs" "${execs:-}"
	else
		printf 'FAIL  %-28s %-22s %4ds  %s\n' "$name" "./$dir" "$secs" "${execs:-}"
		grep -Ev '^fuzz: elapsed' <<<"$out" | sed 's/^/      /'
		failed+=("$name")
	fi
done
if [ ${#failed[@]} -gt 0 ]; then
	echo "fuzz: ${#failed[@]} of ${#targets[@]} targets failed: ${failed[*]} (the failing inputs are in their testdata/fuzz/ directories)" >&2
	exit 1
fi
echo "fuzz: all ${#targets[@]} targets passed"
