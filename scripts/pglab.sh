#!/usr/bin/env bash
# pglab.sh - a private PostgreSQL server for the tests of core/store/postgres (and of anything that
# runs gateway nodes on PostgreSQL): Debian's PostgreSQL binaries, a cluster made by initdb in a
# temporary directory, run as a non-root user, listening on 127.0.0.1 on a port picked at start and
# on a unix socket inside the lab directory. The system cluster (the postgresql service) is never
# started or touched.
#
# Usage (Debian 12):
#   scripts/pglab.sh install       apt-get update + install postgresql, only when its binaries are missing (needs root)
#   scripts/pglab.sh start [DIR]   make a new cluster in DIR (default $PGLAB) and start it; prints the DSN
#   scripts/pglab.sh env [DIR]     print the lab's facts as KEY=VALUE lines (the tests read DIR/lab.env)
#   scripts/pglab.sh prove [DIR]   check the lab with psql over TCP with the password
#   scripts/pglab.sh status [DIR]  whether this lab's server runs
#   scripts/pglab.sh stop [DIR]    stop this lab's server, by the pid in its postmaster.pid only
#
# Environment: PGLAB (default /tmp/gatehouse-pglab; start wipes DIR/data and DIR/run only),
# PGLAB_PORT (default: a free port picked at start), PGLAB_BIN (default: the newest
# /usr/lib/postgresql/*/bin). Several labs can run at once in different directories.
#
# As root, the server runs as the system user gatehouse-pg (created when missing, no login, no home):
# PostgreSQL refuses to run as root. As any other user it runs as that user.
# The superuser is "gatehouse" with a random password (lab.env, mode 0600); TCP connections need the
# password (scram-sha-256), connections over the lab's unix socket are trusted.
# The server is tuned for tests, not for keeping data: fsync, full_page_writes and
# synchronous_commit are off.
set -euo pipefail

PGLAB=${PGLAB:-/tmp/gatehouse-pglab}
if [ -n "${2:-}" ]; then PGLAB=$2; fi
PGUSER_OS=gatehouse-pg
SUPERUSER=gatehouse
DATABASE=gatehouse

ts() { date +%s.%N; }
el() { awk -v a="$1" -v b="$(ts)" 'BEGIN{printf "%.2fs", b-a}'; }
log() { printf '[pglab] %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

tcp_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
# free_port prints a port in 20000-59999 that nothing listens on (TCP); the server's own bind decides.
free_port() {
	local p
	for _ in $(seq 50); do
		p=$((20000 + (RANDOM * 32768 + RANDOM) % 40000))
		tcp_open "$p" || { echo "$p"; return 0; }
	done
	die "no free port found"
}

# pg_bin prints the directory of the newest installed PostgreSQL server binaries.
pg_bin() {
	local d best=""
	if [ -n "${PGLAB_BIN:-}" ]; then
		[ -x "$PGLAB_BIN/postgres" ] && { echo "$PGLAB_BIN"; return 0; }
		return 1
	fi
	for d in /usr/lib/postgresql/*/bin; do
		[ -x "$d/postgres" ] && [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ] || continue
		best=$d # the glob sorts 15 before 16; two-digit versions only
	done
	[ -n "$best" ] && echo "$best"
}

cmd_install() {
	local t0 own_policy=""
	if pg_bin >/dev/null && [ -x "$(pg_bin)/psql" ]; then log "postgresql already installed ($(pg_bin))"; return 0; fi
	[ "$(id -u)" = 0 ] || die "installing postgresql needs root"
	t0=$(ts)
	# Keep the package's maintainer scripts from starting the system cluster: the lab never uses it.
	if [ ! -e /usr/sbin/policy-rc.d ]; then
		printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d && own_policy=1
	fi
	log "apt-get update; installing postgresql"
	apt-get update -q -o DPkg::Lock::Timeout=600 >/dev/null
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q -o DPkg::Lock::Timeout=900 --no-install-recommends postgresql >/dev/null
	if [ -n "$own_policy" ]; then rm -f /usr/sbin/policy-rc.d; fi
	pg_bin >/dev/null || die "postgresql installed, but no server binaries under /usr/lib/postgresql/*/bin"
	log "postgresql installed ($(pg_bin)) in $(el "$t0")"
}

# as_pg runs a command as the server's user: gatehouse-pg as root, else this user.
as_pg() {
	if [ "$(id -u)" = 0 ]; then runuser -u "$PGUSER_OS" -- "$@"; else "$@"; fi
}

ensure_user() {
	[ "$(id -u)" = 0 ] || return 0
	id -u "$PGUSER_OS" >/dev/null 2>&1 && return 0
	useradd --system --user-group --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin "$PGUSER_OS" ||
		id -u "$PGUSER_OS" >/dev/null 2>&1 || die "could not create the user $PGUSER_OS"
	log "created the system user $PGUSER_OS"
}

# server_pid prints the pid of this lab's postmaster if it is alive.
server_pid() {
	local p
	[ -s "$PGLAB/data/postmaster.pid" ] || return 1
	p=$(head -n 1 "$PGLAB/data/postmaster.pid" | tr -dc '0-9')
	[ -n "$p" ] && kill -0 "$p" 2>/dev/null && echo "$p"
}

cmd_stop() {
	local p t0
	t0=$(ts)
	p=$(server_pid) || return 0
	kill -INT "$p" 2>/dev/null || true # fast shutdown: clients are disconnected
	for _ in $(seq 200); do kill -0 "$p" 2>/dev/null || break; sleep 0.05; done
	if kill -0 "$p" 2>/dev/null; then log "pid $p still alive after 10s, SIGQUIT"; kill -QUIT "$p" 2>/dev/null || true; fi
	for _ in $(seq 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.05; done
	if kill -0 "$p" 2>/dev/null; then log "pid $p still alive, SIGKILL"; kill -9 "$p" 2>/dev/null || true; fi
	log "stopped postgres pid $p in $(el "$t0")"
}

cmd_status() {
	local p
	if p=$(server_pid); then echo "running  pid=$p  $PGLAB"; else echo "stopped  $PGLAB"; return 1; fi
}

init_cluster() {
	local t0
	t0=$(ts)
	mkdir -p "$PGLAB/data" "$PGLAB/run"
	chmod 700 "$PGLAB/data"
	head -c 18 /dev/urandom | base64 | tr '+/' '-_' >"$PGLAB/pwfile"
	PASSWORD=$(cat "$PGLAB/pwfile")
	if [ "$(id -u)" = 0 ]; then chown "$PGUSER_OS:$PGUSER_OS" "$PGLAB/data" "$PGLAB/run" "$PGLAB/pwfile"; fi
	chmod 600 "$PGLAB/pwfile"
	as_pg "$BIN/initdb" -D "$PGLAB/data" -U "$SUPERUSER" --pwfile="$PGLAB/pwfile" -E UTF8 --locale=C \
		--auth-local=trust --auth-host=scram-sha-256 >"$PGLAB/initdb.log" 2>&1 ||
		die "initdb failed; see $PGLAB/initdb.log"
	rm -f "$PGLAB/pwfile"
	log "initdb in $(el "$t0")"
}

start_server() {
	local t0 try
	t0=$(ts)
	for try in 1 2 3 4 5; do
		PORT=${PGLAB_PORT:-$(free_port)}
		if as_pg "$BIN/pg_ctl" -D "$PGLAB/data" -l "$PGLAB/postgres.log" -w -t 60 start -o \
			"-p $PORT -k $PGLAB/run -c listen_addresses=127.0.0.1 -c max_connections=300 -c fsync=off -c full_page_writes=off -c synchronous_commit=off" \
			>>"$PGLAB/pg_ctl.log" 2>&1; then
			log "postgres up (pid $(server_pid)) on 127.0.0.1:$PORT and $PGLAB/run in $(el "$t0")"
			return 0
		fi
		[ -z "${PGLAB_PORT:-}" ] || break
		log "postgres did not start on port $PORT (try $try), picking another"
	done
	die "postgres did not start; see $PGLAB/postgres.log and $PGLAB/pg_ctl.log"
}

write_env() {
	local dsn="postgres://$SUPERUSER:$PASSWORD@127.0.0.1:$PORT/$DATABASE?sslmode=disable"
	as_pg "$BIN/psql" -h "$PGLAB/run" -p "$PORT" -U "$SUPERUSER" -d postgres -q -v ON_ERROR_STOP=1 \
		-c "CREATE DATABASE $DATABASE" >/dev/null || die "could not create the database $DATABASE"
	# Values are not quoted: read the file line by line, splitting at the first '='.
	cat >"$PGLAB/lab.env" <<-EOF
	PGLAB=$PGLAB
	BIN=$BIN
	HOST=127.0.0.1
	PORT=$PORT
	SOCKET_DIR=$PGLAB/run
	USER=$SUPERUSER
	PASSWORD=$PASSWORD
	DATABASE=$DATABASE
	DSN=$dsn
	SOCKET_DSN=host=$PGLAB/run port=$PORT user=$SUPERUSER dbname=$DATABASE
	EOF
	chmod 600 "$PGLAB/lab.env"
	echo "$dsn"
}

cmd_start() {
	local T0
	T0=$(ts)
	BIN=$(pg_bin) || die "PostgreSQL is not installed: run '$0 install' as root"
	case "$PGLAB" in /?*) ;; *) die "the lab directory must be an absolute path: $PGLAB" ;; esac
	[ "$(id -u)" != 0 ] || command -v runuser >/dev/null || die "runuser (util-linux) is needed to run postgres as $PGUSER_OS"
	ensure_user
	cmd_stop
	rm -rf "$PGLAB/data" "$PGLAB/run" "$PGLAB/lab.env"
	mkdir -p "$PGLAB"
	chmod 755 "$PGLAB" # the server's user writes its log here and reaches data/ and run/
	if [ "$(id -u)" = 0 ]; then
		touch "$PGLAB/postgres.log" "$PGLAB/pg_ctl.log"
		chown "$PGUSER_OS:$PGUSER_OS" "$PGLAB/postgres.log" "$PGLAB/pg_ctl.log"
	fi
	cd "$PGLAB" # the server's user may not be able to enter the caller's working directory
	init_cluster
	start_server
	write_env
	log "lab ready in $PGLAB in $(el "$T0")"
}

cmd_env() {
	[ -s "$PGLAB/lab.env" ] || die "no lab in $PGLAB: run '$0 start'"
	cat "$PGLAB/lab.env"
}

get_env() { sed -n "s/^$1=//p" "$PGLAB/lab.env"; }

cmd_prove() {
	local out
	[ -s "$PGLAB/lab.env" ] || die "no lab in $PGLAB: run '$0 start'"
	out=$("$(get_env BIN)/psql" "$(get_env DSN)" -Atq -c "SELECT current_user || ' ' || version()") || die "SOME PROOF FAILED"
	echo "   $out"
	if PGPASSWORD=wrong "$(get_env BIN)/psql" "host=127.0.0.1 port=$(get_env PORT) user=$(get_env USER) dbname=$(get_env DATABASE) sslmode=disable" \
		-Atq -c 'SELECT 1' >/dev/null 2>&1; then
		die "UNEXPECTED: a wrong password was accepted"
	fi
	log "ALL PROOFS PASSED"
}

case "${1:-}" in
install) cmd_install ;;
start) cmd_start ;;
stop) cmd_stop ;;
status) cmd_status ;;
env) cmd_env ;;
prove) cmd_prove ;;
*) sed -n '2,26p' "$0" >&2; exit 2 ;;
esac
