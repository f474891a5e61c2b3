#!/usr/bin/env bash
# basicauth-lab.sh - a password-protected backend on loopback for the tests of plugins/vault and the
# vault's end-to-end tests: Apache 2.4 with mod_auth_basic and an htpasswd file, and the same users
# behind a form login (mod_auth_form with an encrypted session cookie).
#
# Usage (Debian 12):
#   scripts/basicauth-lab.sh install   apt-get install apache2 apache2-utils if missing (needs root)
#   scripts/basicauth-lab.sh start     (re)build the lab in $BASICLAB and start Apache
#   scripts/basicauth-lab.sh env       print the lab's facts as KEY=VALUE lines (also in $BASICLAB/lab.env)
#   scripts/basicauth-lab.sh prove     check the lab with curl: 401 without or with a wrong password, 200 with
#   scripts/basicauth-lab.sh status    whether this lab's Apache runs
#   scripts/basicauth-lab.sh stop      stop this lab's Apache, by the pid in its pid file only
#
# Environment: BASICLAB (default /tmp/gatehouse-basiclab; must be under /tmp, start wipes it),
# BASICLAB_HTTP_PORT (default: a free port picked at start). Several labs can run at once in
# different directories. Root is not needed to start (as root, Apache's workers run as www-data).
#
# Pages (http://127.0.0.1:PORT):
#   /index.html                 public
#   /private/whoami.shtml       AuthType Basic, realm "vault lab"; prints REMOTE_USER
#   /form/whoami.shtml          AuthType form: without a session, a 302 to /login.html
#   /dologin                    the form's login handler: POST httpd_username, httpd_password;
#                               success: 302 to /form/whoami.shtml with a Set-Cookie "session";
#                               failure: 302 to /login.html?failed (with a session cookie that opens nothing)
# Users (htpasswd, bcrypt): alice (a password with a colon and a space), bob.
# The access log has one line a request: "IP user=USER \"REQUEST\" STATUS".
set -euo pipefail

BASICLAB=${BASICLAB:-/tmp/gatehouse-basiclab}
ALICE=alice
ALICEPW='Al1ce:vault pass'
BOB=bob
BOBPW='B0b-vault-pass'
SESSION_SECRET=basiclab-session-$RANDOM$RANDOM
PACKAGES="apache2 apache2-utils curl"
MODULES=/usr/lib/apache2/modules

ts() { date +%s.%N; }
el() { awk -v a="$1" -v b="$(ts)" 'BEGIN{printf "%.2fs", b-a}'; }
log() { printf '[basiclab] %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

pid_alive() { # pidfile -> prints the pid if that process is alive
	local p
	[ -s "$1" ] || return 1
	p=$(tr -dc '0-9' <"$1")
	[ -n "$p" ] && kill -0 "$p" 2>/dev/null && echo "$p"
}
pidfile() { echo "$BASICLAB/apache/run/httpd.pid"; }
tcp_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
wait_tcp() { for _ in $(seq 200); do tcp_open "$1" && return 0; sleep 0.05; done; return 1; }
# free_port prints a port in 20000-59999 that nothing listens on (TCP); Apache's own bind decides.
free_port() {
	local p
	for _ in $(seq 50); do
		p=$((20000 + (RANDOM * 32768 + RANDOM) % 40000))
		tcp_open "$p" || { echo "$p"; return 0; }
	done
	die "no free port found"
}
apache_bin() { command -v apache2 || { [ -x /usr/sbin/apache2 ] && echo /usr/sbin/apache2; }; }
htpasswd_bin() { command -v htpasswd || { [ -x /usr/bin/htpasswd ] && echo /usr/bin/htpasswd; }; }

missing_packages() {
	local p out=""
	for p in $PACKAGES; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || out="$out $p"
	done
	echo "$out"
}

cmd_install() {
	local t0 missing own_policy=""
	missing=$(missing_packages)
	[ -n "$missing" ] || { log "packages already installed"; return 0; }
	[ "$(id -u)" = 0 ] || die "installing$missing needs root"
	t0=$(ts)
	# Keep the package's maintainer scripts from starting the distro's apache2 on port 80.
	if [ ! -e /usr/sbin/policy-rc.d ]; then
		printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d && own_policy=1
	fi
	log "apt-get update; installing$missing"
	apt-get update -q -o DPkg::Lock::Timeout=600 >/dev/null
	# shellcheck disable=SC2086
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q -o DPkg::Lock::Timeout=900 --no-install-recommends $missing >/dev/null
	if [ -n "$own_policy" ]; then rm -f /usr/sbin/policy-rc.d; fi
	log "packages installed in $(el "$t0")"
}

cmd_stop() {
	local p t0
	t0=$(ts)
	p=$(pid_alive "$(pidfile)") || return 0
	kill "$p" 2>/dev/null || true
	for _ in $(seq 200); do kill -0 "$p" 2>/dev/null || break; sleep 0.05; done
	if kill -0 "$p" 2>/dev/null; then log "pid $p still alive after 10s, SIGKILL"; kill -9 "$p" 2>/dev/null || true; fi
	log "stopped apache2 pid $p in $(el "$t0")"
}

cmd_status() {
	local p
	if p=$(pid_alive "$(pidfile)"); then echo "running  pid=$p  $(pidfile)"; else echo "stopped  $(pidfile)"; return 1; fi
}

write_files() {
	mkdir -p "$BASICLAB"/apache/{run,logs,htdocs/private,htdocs/form}
	"$HTPASSWD" -c -b -B "$BASICLAB/htpasswd" "$ALICE" "$ALICEPW" 2>/dev/null
	"$HTPASSWD" -b -B "$BASICLAB/htpasswd" "$BOB" "$BOBPW" 2>/dev/null
	echo "public page" >"$BASICLAB/apache/htdocs/index.html"
	cat >"$BASICLAB/apache/htdocs/login.html" <<-'EOF2'
	<!doctype html><title>Log in</title>
	<form method="post" action="/dologin">
	<input name="httpd_username"> <input name="httpd_password" type="password"> <button>Log in</button>
	</form>
	EOF2
	for d in private form; do
		cat >"$BASICLAB/apache/htdocs/$d/whoami.shtml" <<-'EOF2'
		REMOTE_USER=<!--#echo var="REMOTE_USER" -->
		AUTH_TYPE=<!--#echo var="AUTH_TYPE" -->
		EOF2
	done
	chmod 644 "$BASICLAB/htpasswd"
}

write_apache_conf() {
	local user=""
	# As root, Apache's workers need a user to switch to; otherwise they stay this user.
	if [ "$(id -u)" = 0 ]; then user=$'User www-data\nGroup www-data'; fi
	cat >"$BASICLAB/apache/httpd.conf" <<-EOF
	ServerRoot $BASICLAB/apache
	ServerName backend.basiclab.test
	Listen 127.0.0.1:$HTTP_PORT
	PidFile $BASICLAB/apache/run/httpd.pid
	DefaultRuntimeDir $BASICLAB/apache/run
	Mutex file:$BASICLAB/apache/run default
	ErrorLog $BASICLAB/apache/logs/error.log
	LogLevel warn
	LoadModule mpm_event_module       $MODULES/mod_mpm_event.so
	LoadModule authn_core_module      $MODULES/mod_authn_core.so
	LoadModule authn_file_module      $MODULES/mod_authn_file.so
	LoadModule authz_core_module      $MODULES/mod_authz_core.so
	LoadModule authz_user_module      $MODULES/mod_authz_user.so
	LoadModule auth_basic_module      $MODULES/mod_auth_basic.so
	LoadModule auth_form_module       $MODULES/mod_auth_form.so
	LoadModule request_module         $MODULES/mod_request.so
	LoadModule session_module         $MODULES/mod_session.so
	LoadModule session_cookie_module  $MODULES/mod_session_cookie.so
	LoadModule session_crypto_module  $MODULES/mod_session_crypto.so
	LoadModule mime_module            $MODULES/mod_mime.so
	LoadModule include_module         $MODULES/mod_include.so
	TypesConfig /etc/mime.types
	StartServers 1
	ServerLimit 1
	ThreadsPerChild 16
	MaxRequestWorkers 16
	$user
	LogFormat "%h user=%u \"%r\" %>s" basiclab
	CustomLog $BASICLAB/apache/logs/access.log basiclab
	DocumentRoot $BASICLAB/apache/htdocs
	<Directory $BASICLAB/apache/htdocs>
	    Require all granted
	    Options +Includes
	    AddOutputFilter INCLUDES .shtml
	</Directory>
	<Location /private/>
	    AuthType Basic
	    AuthName "vault lab"
	    AuthBasicProvider file
	    AuthUserFile $BASICLAB/htpasswd
	    Require valid-user
	</Location>
	# The form login's session lives in an encrypted cookie (without
	# mod_session_crypto it would carry the password in clear).
	<Location /form/>
	    AuthType form
	    AuthName "vault lab form"
	    AuthFormProvider file
	    AuthUserFile $BASICLAB/htpasswd
	    AuthFormLoginRequiredLocation /login.html
	    Session On
	    SessionCookieName session path=/;httponly
	    SessionCryptoPassphrase $SESSION_SECRET
	    SessionMaxAge 3600
	    Require valid-user
	</Location>
	<Location /dologin>
	    SetHandler form-login-handler
	    AuthType form
	    AuthName "vault lab form"
	    AuthFormProvider file
	    AuthUserFile $BASICLAB/htpasswd
	    AuthFormLoginRequiredLocation /login.html?failed
	    AuthFormLoginSuccessLocation /form/whoami.shtml
	    Session On
	    SessionCookieName session path=/;httponly
	    SessionCryptoPassphrase $SESSION_SECRET
	    SessionMaxAge 3600
	</Location>
	EOF
}

start_apache() {
	local t0 try
	t0=$(ts)
	for try in 1 2 3 4 5; do
		HTTP_PORT=${BASICLAB_HTTP_PORT:-$(free_port)}
		write_apache_conf
		rm -f "$(pidfile)"
		# setsid: Apache signals its whole process group when it stops.
		if setsid "$APACHE" -f "$BASICLAB/apache/httpd.conf" -k start 2>>"$BASICLAB/apache/start.err" && wait_tcp "$HTTP_PORT"; then
			for _ in $(seq 100); do [ -s "$(pidfile)" ] && break; sleep 0.05; done
			log "apache2 up (pid $(cat "$(pidfile)")) on 127.0.0.1:$HTTP_PORT in $(el "$t0")"
			return 0
		fi
		[ -z "${BASICLAB_HTTP_PORT:-}" ] || break
		log "apache2 did not start on port $HTTP_PORT (try $try), picking another"
	done
	die "apache2 did not start; see $BASICLAB/apache/start.err and $BASICLAB/apache/logs/error.log"
}

write_env() {
	local base=http://127.0.0.1:$HTTP_PORT
	# Values are not quoted: read the file line by line, splitting at the first '='.
	cat >"$BASICLAB/lab.env" <<-EOF
	BASICLAB=$BASICLAB
	BASE_URL=$base
	URL=$base/private/whoami.shtml
	FORM_URL=$base/form/whoami.shtml
	FORM_LOGIN_URL=$base/dologin
	FORM_LOGIN_PAGE=/login.html
	FORM_USERNAME_FIELD=httpd_username
	FORM_PASSWORD_FIELD=httpd_password
	USER=$ALICE
	PASSWORD=$ALICEPW
	OTHER_USER=$BOB
	OTHER_PASSWORD=$BOBPW
	ACCESS_LOG=$BASICLAB/apache/logs/access.log
	EOF
	chmod 600 "$BASICLAB/lab.env"
}

cmd_start() {
	local T0
	T0=$(ts)
	case "$BASICLAB" in /tmp/?*) ;; *) die "BASICLAB must be a directory under /tmp (start wipes it): $BASICLAB" ;; esac
	APACHE=$(apache_bin) || die "apache2 is not installed: run '$0 install' as root"
	HTPASSWD=$(htpasswd_bin) || die "htpasswd is not installed (package apache2-utils): run '$0 install' as root"
	[ -e "$MODULES/mod_auth_basic.so" ] && [ -e "$MODULES/mod_auth_form.so" ] || die "Apache's modules are not in $MODULES"
	cmd_stop
	rm -rf "$BASICLAB"
	mkdir -p "$BASICLAB"
	chmod 755 "$BASICLAB"
	write_files
	HTTP_PORT=0
	start_apache
	write_env
	log "lab ready in $BASICLAB in $(el "$T0")"
}

cmd_env() {
	[ -s "$BASICLAB/lab.env" ] || die "no lab in $BASICLAB: run '$0 start'"
	cat "$BASICLAB/lab.env"
}

# get_env KEY prints the value of KEY in lab.env.
get_env() { sed -n "s/^$1=//p" "$BASICLAB/lab.env"; }

cmd_prove() {
	local rc=0 code out url user pw
	[ -s "$BASICLAB/lab.env" ] || die "no lab in $BASICLAB: run '$0 start'"
	url=$(get_env URL); user=$(get_env USER); pw=$(get_env PASSWORD)
	log "1) basic, no credentials -> 401"
	code=$(curl -s -o /dev/null -w '%{http_code}' "$url"); echo "   HTTP $code"; [ "$code" = 401 ] || rc=1
	log "2) basic, a wrong password -> 401"
	code=$(curl -s -o /dev/null -w '%{http_code}' -u "$user:wrong" "$url"); echo "   HTTP $code"; [ "$code" = 401 ] || rc=1
	log "3) basic, the right password -> 200, REMOTE_USER=$user"
	out=$(curl -s -w 'HTTP %{http_code}\n' -u "$user:$pw" "$url"); echo "$out" | sed 's/^/   /'
	echo "$out" | grep -q "^REMOTE_USER=$user\$" || rc=1
	log "4) form, no session -> 302 to the login page"
	out=$(curl -s -o /dev/null -w '%{http_code} %{redirect_url}' "$(get_env FORM_URL)"); echo "   HTTP $out"
	case "$out" in 302\ */login.html) ;; *) rc=1 ;; esac
	log "5) form, a wrong password -> 302 to the login page; what cookie it sets opens nothing"
	out=$(curl -s -o /dev/null -c "$BASICLAB/cookies.txt" -w '%{http_code} %{redirect_url}' --data-urlencode "httpd_username=$user" --data-urlencode "httpd_password=wrong" "$(get_env FORM_LOGIN_URL)")
	echo "   login: HTTP $out"
	case "$out" in 302\ */login.html\?failed) ;; *) rc=1 ;; esac
	out=$(curl -s -o /dev/null -b "$BASICLAB/cookies.txt" -w '%{http_code} %{redirect_url}' "$(get_env FORM_URL)"); echo "   page:  HTTP $out"
	case "$out" in 302\ */login.html) ;; *) rc=1 ;; esac
	log "6) form, the right password -> a session cookie that opens /form/"
	out=$(curl -s -o /dev/null -c "$BASICLAB/cookies.txt" -w '%{http_code} %{redirect_url}' --data-urlencode "httpd_username=$user" --data-urlencode "httpd_password=$pw" "$(get_env FORM_LOGIN_URL)")
	echo "   login: HTTP $out"
	case "$out" in 302\ */form/whoami.shtml) ;; *) rc=1 ;; esac
	out=$(curl -s -b "$BASICLAB/cookies.txt" -w 'HTTP %{http_code}\n' "$(get_env FORM_URL)"); echo "$out" | sed 's/^/   /'
	echo "$out" | grep -q "^REMOTE_USER=$user\$" || rc=1
	rm -f "$BASICLAB/cookies.txt"
	if [ $rc = 0 ]; then log "ALL PROOFS PASSED"; else log "SOME PROOF FAILED"; fi
	return $rc
}

case "${1:-}" in
install) cmd_install ;;
start) cmd_start ;;
stop) cmd_stop ;;
status) cmd_status ;;
env) cmd_env ;;
prove) cmd_prove ;;
*) sed -n '2,28p' "$0" >&2; exit 2 ;;
esac
