#!/usr/bin/env bash
# bench/run.sh — `make bench`: a minimal backend (bench/backend) direct, through
# nginx terminating TLS (the reference path; BENCH_NGINX=off skips it) and
# through Gatehouse, in one run on this machine. Needs bin/ from `make
# build`. Uses wrk and nginx (Debian packages, installed if missing); falls
# back to a Go load generator when wrk cannot be installed. BENCH_OUT=FILE also writes the figures as
# one flat JSON object. Extra arguments go to the bench program, e.g.
# `./bench/run.sh -duration 3s -bulk 256m` for a quick run.
#
# BENCH_AB=fastpaths (or --ab as the first argument) runs the fast-path A/B
# mode instead: each fast path off against all on, in interleaved pairs of
# the 100-byte and 1 MiB scenarios (bench/ab.go), e.g.
# `./bench/run.sh --ab -duration 3s -ab-pairs 2 -ab-variants -rawsock,off`.
#
# BENCH_AB=observe (or --observe) compares metrics and access logs on
# against off (bench/observe.go) in interleaved pairs of the 100-byte
# scenario, e.g. `./bench/run.sh --observe -duration 5s -ab-pairs 4`.
#
# --scale (make bench-scale) runs the scale mode instead (bench/scale.go):
# one gateway and 1,000 simulated connectors with 2 sessions each
# (bench/simconn), then the Go benchmarks of a 10,000-app config's load and
# swap (core/gateway), e.g. `./bench/run.sh --scale -scale-connectors 200`.
set -euo pipefail

if [ "${1:-}" = "--ab" ]; then
  shift
  export BENCH_AB=fastpaths
elif [ "${1:-}" = "--observe" ]; then
  shift
  export BENCH_AB=observe
elif [ "${1:-}" = "--scale" ]; then
  shift
  scale=1
fi

if [ -n "${BENCH_OUT:-}" ]; then
  case "$BENCH_OUT" in /*) ;; *) BENCH_OUT="$PWD/$BENCH_OUT" ;; esac
  export BENCH_OUT
fi
cd "$(dirname "$0")/.."
command -v go >/dev/null 2>&1 || PATH="$PATH:/usr/local/go/bin"
GO=${GO:-go}
BIN=${BIN:-bin}

work=$(mktemp -d "${TMPDIR:-/tmp}/gatehouse-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT # replaced by cleanup below, once children can exist
if [ -n "${scale:-}" ]; then
  # The bench program stops its children itself (SIGTERM, then SIGKILL);
  # Pdeathsig kills them if it is killed outright.
  if [ ! -x "$BIN/gatehouse" ]; then
    echo "bench: $BIN/gatehouse is missing: run 'make build' first" >&2
    exit 1
  fi
  "$GO" build -o "$work/bench" ./bench
  "$GO" build -o "$work/simconn" ./bench/simconn
  "$work/bench" -bin "$BIN" -work "$work" -scale -simconn "$work/simconn" "$@"
  echo
  echo "A 10,000-app config: config.Load of the file, and Gateway.Apply (snapshot build + swap) on a gateway with no connector:"
  "$GO" test -run '^$' -bench '^(BenchmarkLoad10kApps|BenchmarkApply10kApps)$' -benchtime 5x -benchmem ./core/gateway | grep '^Benchmark'
  exit 0
fi

for b in gatehouse gatehouse-connector demoapp; do
  if [ ! -x "$BIN/$b" ]; then
    echo "bench: $BIN/$b is missing: run 'make build' first" >&2
    exit 1
  fi
done

loadgen=wrk
if ! command -v wrk >/dev/null 2>&1; then
  echo "bench: wrk not found; installing the Debian package wrk" >&2
  sudo=
  [ "$(id -u)" = 0 ] || sudo=sudo
  if ! { $sudo apt-get update -qq && $sudo apt-get install -y -qq wrk; } >&2 || ! command -v wrk >/dev/null 2>&1; then
    echo "bench: could not install wrk: FALLING BACK to the Go load generator in bench/ (its figures are not comparable with wrk's)" >&2
    loadgen=go
  fi
fi

# The reference path: nginx terminating TLS in front of the same backend
# (bench/nginx.go), installed from the Debian package when missing.
# BENCH_NGINX=off runs without it (no x nginx-TLS figures).
nginx=
if [ "${BENCH_NGINX:-on}" != off ] && [ -z "${BENCH_AB:-}" ]; then # the A/B modes do not use it
  PATH="$PATH:/usr/sbin:/sbin"
  if ! command -v nginx >/dev/null 2>&1 && ! ./scripts/install-nginx.sh; then
    echo "bench: nginx is missing and could not be installed (scripts/install-nginx.sh); BENCH_NGINX=off runs without the reference path" >&2
    exit 1
  fi
  nginx=$(command -v nginx)
fi

pid=
cleanup() {
  trap - EXIT INT TERM
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  fi
  # The bench program stops its children itself; this catches any left
  # behind if it was killed outright.
  for f in "$work/pids" "$work/observe/pids"; do
    [ -f "$f" ] || continue
    while read -r p; do
      kill -KILL "$p" 2>/dev/null || true
    done <"$f"
  done
  rm -rf "$work"
}
trap cleanup EXIT
trap 'cleanup; exit 130' INT TERM

"$GO" build -o "$work/bench" ./bench
"$GO" build -o "$work/backend" ./bench/backend # the minimal backend of the ratio scenarios
"$GO" build -C examples/custom-sso -o "$work/custom-sso" . # a module of its own
"$work/bench" -bin "$BIN" -work "$work" -loadgen "$loadgen" -sso "$work/custom-sso" \
  -backend "$work/backend" -nginx "$nginx" "$@" &
pid=$!
wait "$pid"
[ -z "${BENCH_AB:-}" ] || exit 0 # the A/B modes measure only their comparison

# Metrics and access logs on vs off (bench/observe.go), a short version of
# BENCH_AB=observe: BENCH_OBSERVE_PAIRS (default 4) interleaved pairs of 5 s
# 100-byte runs unless the arguments set -duration; 0 skips it. Its own
# working directory, since the program wants an empty one.
pairs=${BENCH_OBSERVE_PAIRS:-4}
if [ "$pairs" != 0 ]; then
  mkdir "$work/observe"
  out=()
  [ -z "${BENCH_OUT:-}" ] || out=(-out "$BENCH_OUT" -out-merge)
  "$work/bench" -bin "$BIN" -work "$work/observe" -loadgen "$loadgen" -duration 5s "$@" \
    -ab observe -ab-pairs "$pairs" "${out[@]}" &
  pid=$!
  wait "$pid"
fi

echo
echo "Plug-in round trip: the header Injector over go-plugin (gRPC, mutual TLS, Unix socket) vs the same call in-process:"
"$GO" test -run '^$' -bench '^BenchmarkInjectLatency$' -benchtime 10000x ./plugins/header | grep '^Benchmark'

echo
echo "WASM filters: per-request cost of a chain of 1 and 3 filters (WAT and Go guests), net of a no-filter baseline timed in the same run (ns/filter), and memory per instance:"
"$GO" test -run '^$' -bench '^(BenchmarkChain|BenchmarkInstanceMemory)$' -benchtime 2s ./core/wasm | grep '^Benchmark'

echo
echo "Kerberos sign-on (plugins/kcd) against the real lab (MIT KDC + Apache/mod_auth_gssapi; skipped without it): a request to Apache with the kcd Injector over the plug-in protocol vs no sign-on, Inject with a cached ticket, and a cold (user, SPN) pair (S4U2Self + S4U2Proxy):"
"$GO" test -run '^$' -bench '^(BenchmarkBackendRequest|BenchmarkInjectCachedOverWire|BenchmarkInjectUncached)$' -benchtime 2s ./plugins/kcd | grep -E '^(Benchmark|.*SKIP|.*skip)' || true
