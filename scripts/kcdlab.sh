#!/usr/bin/env bash
# kcdlab.sh - a Kerberos constrained delegation (S4U2Self + S4U2Proxy) lab on loopback for the tests
# of plugins/kcd: an MIT krb5 KDC whose database is OpenLDAP (the only MIT back end that implements
# constrained delegation) and Apache 2.4 + mod_auth_gssapi as the Kerberos-protected backend.
#
# Usage (as root, Debian 12):
#   scripts/kcdlab.sh install   apt-get update + install the packages that are missing (no-op when all are there)
#   scripts/kcdlab.sh start     install if needed, then (re)build the lab in $KCDLAB and start its daemons
#   scripts/kcdlab.sh env       print the lab's facts as KEY=VALUE lines (the tests read $KCDLAB/lab.env)
#   scripts/kcdlab.sh prove     check the lab with MIT's own tools (kvno -U -P, curl --negotiate)
#   scripts/kcdlab.sh status    which daemons of this lab are running
#   scripts/kcdlab.sh stop      stop this lab's daemons, by the pids in its pid files only
#
# Environment: KCDLAB (default /tmp/gatehouse-kcdlab; must be under /tmp, it is wiped by start),
# KCD_KDC_PORT and KCD_HTTP_PORT (default: free ports picked at start). Several labs can run at once
# in different directories.
#
# Realm EXAMPLE.TEST. Principals:
#   alice, bob, dave            users who may be delegated (alice also has the UPN alias alice@example.test;
#                               dave is for tests that change a user's flags)
#   carol                       a user marked not delegable (-allow_forwardable)
#   svc-connector               the connector: protocol transition allowed (+ok_to_auth_as_delegate), may
#                               delegate to HTTP/backend.example.test only      keytab: connector.keytab
#   svc-noproto                 a connector account that may delegate to the backend but is NOT trusted for
#                               protocol transition                              keytab: noproto.keytab
#   HTTP/backend.example.test   the backend (Apache's keytab: backend.keytab)
#   HTTP/other.example.test     a service outside the delegation list
#
# Only loopback is used (slapd on a unix socket). Nothing outside $KCDLAB is written except by apt-get;
# /etc/krb5.conf and /etc/hosts are not touched: clients use KRB5_CONFIG=$KCDLAB/krb5.conf and connect
# to 127.0.0.1 with the backend's host name in the Host header.
set -euo pipefail

KCDLAB=${KCDLAB:-/tmp/gatehouse-kcdlab}
REALM=EXAMPLE.TEST
BASEDN=dc=example,dc=test
ROOTDN="cn=admin,$BASEDN"
ROOTPW=lab-ldap-secret
MASTERPW=lab-master-secret
ALICEPW=Al1ce-Passw0rd!
CONNECTOR=svc-connector
NOPROTO=svc-noproto
BACKEND_HOST=backend.example.test
BACKEND_SPN=HTTP/$BACKEND_HOST
OTHER_SPN=HTTP/other.example.test
LDAPI="ldapi://$(printf %s "$KCDLAB/ldapi" | sed 's,/,%2F,g')"
PACKAGES="krb5-user krb5-kdc krb5-admin-server krb5-kdc-ldap slapd ldap-utils apache2 libapache2-mod-auth-gssapi curl"

export KRB5_CONFIG="$KCDLAB/krb5.conf"
export KRB5_KDC_PROFILE="$KCDLAB/kdc.conf"
export KRB5RCACHEDIR="$KCDLAB/rcache"
export KRB5CCNAME="FILE:$KCDLAB/cc.default"

ts() { date +%s.%N; }
el() { awk -v a="$1" -v b="$(ts)" 'BEGIN{printf "%.2fs", b-a}'; }
log() { printf '[kcdlab] %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

pid_alive() { # pidfile -> prints the pid if that process is alive
	local p
	[ -s "$1" ] || return 1
	p=$(tr -dc '0-9' <"$1")
	[ -n "$p" ] && kill -0 "$p" 2>/dev/null && echo "$p"
}
pidfiles() { echo "$KCDLAB/apache/run/httpd.pid" "$KCDLAB/krb5kdc.pid" "$KCDLAB/slapd.pid"; }
tcp_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
wait_tcp() { for _ in $(seq 200); do tcp_open "$1" && return 0; sleep 0.05; done; return 1; }
# free_port prints a port in 20000-59999 that nothing listens on (TCP); the daemons' own bind decides.
free_port() {
	local p
	for _ in $(seq 50); do
		p=$((20000 + (RANDOM * 32768 + RANDOM) % 40000))
		tcp_open "$p" || { echo "$p"; return 0; }
	done
	die "no free port found"
}

missing_packages() {
	local p out=""
	for p in $PACKAGES; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || out="$out $p"
	done
	echo "$out"
}

cmd_install() {
	local t0 missing
	OWN_POLICY=""
	missing=$(missing_packages)
	[ -n "$missing" ] || { log "packages already installed"; return 0; }
	[ "$(id -u)" = 0 ] || die "installing$missing needs root"
	t0=$(ts)
	# Keep the packages' maintainer scripts from starting the distro's slapd/krb5kdc/apache2 on the
	# standard ports: the lab never uses them. Only a policy file this script created is removed.
	if [ ! -e /usr/sbin/policy-rc.d ]; then
		printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d && OWN_POLICY=1
	fi
	trap 'if [ -n "$OWN_POLICY" ]; then rm -f /usr/sbin/policy-rc.d; fi' EXIT
	log "apt-get update; installing$missing"
	apt-get update -q -o DPkg::Lock::Timeout=600 >/dev/null
	# shellcheck disable=SC2086
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q -o DPkg::Lock::Timeout=900 --no-install-recommends $missing >/dev/null
	log "packages installed in $(el "$t0")"
}

cmd_stop() {
	local f p pids=() t0
	t0=$(ts)
	for f in $(pidfiles); do
		if p=$(pid_alive "$f"); then kill "$p" 2>/dev/null || true; pids+=("$p"); fi
	done
	[ ${#pids[@]} -gt 0 ] || return 0
	for p in "${pids[@]}"; do
		for _ in $(seq 200); do kill -0 "$p" 2>/dev/null || break; sleep 0.05; done
		if kill -0 "$p" 2>/dev/null; then log "pid $p still alive after 10s, SIGKILL"; kill -9 "$p" 2>/dev/null || true; fi
	done
	log "stopped pids ${pids[*]} in $(el "$t0")"
}

cmd_status() {
	local f p rc=0
	for f in $(pidfiles); do
		if p=$(pid_alive "$f"); then echo "running  pid=$p  $f"; else echo "stopped  $f"; rc=1; fi
	done
	return $rc
}

write_krb5_conf() {
	cat >"$KCDLAB/krb5.conf" <<-EOF
	[libdefaults]
	    default_realm = $REALM
	    dns_lookup_kdc = false
	    dns_lookup_realm = false
	    dns_canonicalize_hostname = false
	    rdns = false
	    forwardable = true
	    ticket_lifetime = 10h
	    udp_preference_limit = 1
	[realms]
	    $REALM = {
	        kdc = 127.0.0.1:$KDC_PORT
	    }
	[domain_realm]
	    .example.test = $REALM
	    example.test = $REALM
	EOF
}

write_kdc_conf() {
	cat >"$KCDLAB/kdc.conf" <<-EOF
	[kdcdefaults]
	    kdc_listen = 127.0.0.1:$KDC_PORT
	    kdc_tcp_listen = 127.0.0.1:$KDC_PORT
	[realms]
	    $REALM = {
	        database_module = ldapconf
	        key_stash_file = $KCDLAB/master.stash
	        acl_file = $KCDLAB/kadm5.acl
	        max_life = 10h
	        max_renewable_life = 7d
	        master_key_type = aes256-cts-hmac-sha1-96
	        supported_enctypes = aes256-cts-hmac-sha1-96:normal aes128-cts-hmac-sha1-96:normal
	    }
	[dbmodules]
	    ldapconf = {
	        db_library = kldap
	        ldap_kdc_dn = $ROOTDN
	        ldap_kadmind_dn = $ROOTDN
	        ldap_service_password_file = $KCDLAB/ldap.stash
	        ldap_servers = $LDAPI
	        ldap_conns_per_server = 2
	        ldap_kerberos_container_dn = cn=krbcontainer,$BASEDN
	    }
	[logging]
	    kdc = FILE:$KCDLAB/kdc.log
	    admin_server = FILE:$KCDLAB/kadmind.log
	    default = FILE:$KCDLAB/krb5lib.log
	EOF
	echo "*/admin@$REALM *" >"$KCDLAB/kadm5.acl"
}

write_apache_conf() {
	mkdir -p "$KCDLAB"/apache/{run,logs,htdocs/private} "$KCDLAB/rcache"
	cat >"$KCDLAB/apache/httpd.conf" <<-EOF
	ServerRoot $KCDLAB/apache
	ServerName $BACKEND_HOST
	Listen 127.0.0.1:$HTTP_PORT
	PidFile $KCDLAB/apache/run/httpd.pid
	DefaultRuntimeDir $KCDLAB/apache/run
	Mutex file:$KCDLAB/apache/run default
	ErrorLog $KCDLAB/apache/logs/error.log
	LogLevel warn auth_gssapi:debug
	LoadModule mpm_event_module   /usr/lib/apache2/modules/mod_mpm_event.so
	LoadModule authn_core_module  /usr/lib/apache2/modules/mod_authn_core.so
	LoadModule authz_core_module  /usr/lib/apache2/modules/mod_authz_core.so
	LoadModule authz_user_module  /usr/lib/apache2/modules/mod_authz_user.so
	LoadModule mime_module        /usr/lib/apache2/modules/mod_mime.so
	LoadModule include_module     /usr/lib/apache2/modules/mod_include.so
	LoadModule auth_gssapi_module /usr/lib/apache2/modules/mod_auth_gssapi.so
	TypesConfig /etc/mime.types
	# One process, threads enough for the bench: 64 connections to each of
	# two apps, each app with its own connection pool at the connector.
	StartServers 1
	ServerLimit 1
	ThreadLimit 192
	ThreadsPerChild 192
	MaxRequestWorkers 192
	User www-data
	Group www-data
	LogFormat "%h user=%u \"%r\" %>s" kcd
	CustomLog $KCDLAB/apache/logs/access.log kcd
	DocumentRoot $KCDLAB/apache/htdocs
	<Directory $KCDLAB/apache/htdocs>
	    Require all granted
	</Directory>
	<Location /private/>
	    AuthType GSSAPI
	    AuthName "KCD lab backend"
	    GssapiCredStore keytab:$KCDLAB/backend.keytab
	    GssapiAllowedMech krb5
	    GssapiBasicAuth Off
	    GssapiLocalName On
	    Require valid-user
	    Options +Includes
	    AddOutputFilter INCLUDES .shtml
	</Location>
	EOF
	echo "public page" >"$KCDLAB/apache/htdocs/index.html"
	cat >"$KCDLAB/apache/htdocs/private/whoami.shtml" <<-'EOF'
	REMOTE_USER=<!--#echo var="REMOTE_USER" -->
	GSS_NAME=<!--#echo var="GSS_NAME" -->
	EOF
}

start_slapd() {
	local t0
	t0=$(ts)
	mkdir -p "$KCDLAB/ldapdb"
	zcat /usr/share/doc/krb5-kdc-ldap/kerberos.schema.gz >"$KCDLAB/kerberos.schema"
	cat >"$KCDLAB/slapd.conf" <<-EOF
	include  /etc/ldap/schema/core.schema
	include  /etc/ldap/schema/cosine.schema
	include  /etc/ldap/schema/inetorgperson.schema
	include  $KCDLAB/kerberos.schema
	pidfile  $KCDLAB/slapd.pid
	argsfile $KCDLAB/slapd.args
	modulepath /usr/lib/ldap
	moduleload back_mdb
	database mdb
	maxsize  67108864
	suffix   "$BASEDN"
	rootdn   "$ROOTDN"
	rootpw   $ROOTPW
	directory $KCDLAB/ldapdb
	index objectClass eq
	index krbPrincipalName eq,pres,sub
	EOF
	slapd -f "$KCDLAB/slapd.conf" -h "$LDAPI" -u root -g root
	for _ in $(seq 200); do ldapsearch -x -H "$LDAPI" -s base -b "" namingContexts >/dev/null 2>&1 && break; sleep 0.05; done
	ldapadd -x -H "$LDAPI" -D "$ROOTDN" -w "$ROOTPW" >/dev/null <<-EOF
	dn: $BASEDN
	objectClass: dcObject
	objectClass: organization
	o: KCD lab
	dc: example
	EOF
	log "slapd up (pid $(cat "$KCDLAB/slapd.pid")) in $(el "$t0")"
}

make_realm() {
	local t0
	t0=$(ts)
	# The KDC's LDAP bind password, in the format kdb5_ldap_util stashsrvpw writes: "<dn>#{HEX}<hex>".
	printf '%s#{HEX}%s\n' "$ROOTDN" "$(printf %s "$ROOTPW" | od -An -tx1 | tr -d ' \n')" >"$KCDLAB/ldap.stash"
	chmod 600 "$KCDLAB/ldap.stash"
	kdb5_ldap_util -D "$ROOTDN" -w "$ROOTPW" -H "$LDAPI" create -subtrees "$BASEDN" -sscope sub \
		-r "$REALM" -s -sf "$KCDLAB/master.stash" -P "$MASTERPW" >/dev/null
	kadmin.local >"$KCDLAB/kadmin.log" 2>&1 <<-EOF
	addprinc -pw $ALICEPW alice
	addprinc -randkey bob
	addprinc -randkey dave
	addprinc -randkey -allow_forwardable carol
	addprinc -randkey +ok_to_auth_as_delegate $CONNECTOR
	addprinc -randkey $NOPROTO
	addprinc -randkey $BACKEND_SPN
	addprinc -randkey $OTHER_SPN
	ktadd -k $KCDLAB/connector.keytab $CONNECTOR
	ktadd -k $KCDLAB/noproto.keytab $NOPROTO
	ktadd -k $KCDLAB/backend.keytab $BACKEND_SPN
	EOF
	# The delegation list is an LDAP attribute of the delegating account (no kadmin command).
	# The UPN alias lets the KDC resolve the NT-ENTERPRISE name alice@example.test as AD resolves a UPN.
	# In LDAP, principal names carry no backslash before the inner '@'.
	ldapmodify -x -H "$LDAPI" -D "$ROOTDN" -w "$ROOTPW" >/dev/null <<-EOF
	dn: krbPrincipalName=$CONNECTOR@$REALM,cn=$REALM,cn=krbcontainer,$BASEDN
	changetype: modify
	add: krbAllowedToDelegateTo
	krbAllowedToDelegateTo: $BACKEND_SPN@$REALM

	dn: krbPrincipalName=$NOPROTO@$REALM,cn=$REALM,cn=krbcontainer,$BASEDN
	changetype: modify
	add: krbAllowedToDelegateTo
	krbAllowedToDelegateTo: $BACKEND_SPN@$REALM

	dn: krbPrincipalName=alice@$REALM,cn=$REALM,cn=krbcontainer,$BASEDN
	changetype: modify
	add: krbPrincipalName
	krbPrincipalName: alice@example.test@$REALM
	-
	add: krbCanonicalName
	krbCanonicalName: alice@$REALM
	EOF
	chmod 600 "$KCDLAB/connector.keytab" "$KCDLAB/noproto.keytab"
	log "realm, principals, delegation lists in $(el "$t0")"
}

start_kdc() {
	local t0 try
	t0=$(ts)
	for try in 1 2 3 4 5; do
		KDC_PORT=${KCD_KDC_PORT:-$(free_port)}
		write_krb5_conf
		write_kdc_conf
		rm -f "$KCDLAB/krb5kdc.pid"
		if krb5kdc -P "$KCDLAB/krb5kdc.pid" 2>>"$KCDLAB/krb5kdc.err" && wait_tcp "$KDC_PORT" && pid_alive "$KCDLAB/krb5kdc.pid" >/dev/null; then
			log "krb5kdc up (pid $(cat "$KCDLAB/krb5kdc.pid")) on 127.0.0.1:$KDC_PORT in $(el "$t0")"
			return 0
		fi
		if p=$(pid_alive "$KCDLAB/krb5kdc.pid"); then kill "$p"; fi
		[ -z "${KCD_KDC_PORT:-}" ] || break
		log "krb5kdc did not start on port $KDC_PORT (try $try), picking another"
	done
	die "krb5kdc did not start; see $KCDLAB/kdc.log and $KCDLAB/krb5kdc.err"
}

start_apache() {
	local t0 try
	t0=$(ts)
	mkdir -p "$KCDLAB/rcache"
	# Apache's children run as www-data and read the keytab and the replay cache themselves.
	chown www-data:www-data "$KCDLAB/backend.keytab" "$KCDLAB/rcache"
	chmod 600 "$KCDLAB/backend.keytab"
	for try in 1 2 3 4 5; do
		HTTP_PORT=${KCD_HTTP_PORT:-$(free_port)}
		write_apache_conf
		chown www-data:www-data "$KCDLAB/rcache"
		# setsid: Apache signals its whole process group when it stops.
		if setsid env KRB5_CONFIG="$KRB5_CONFIG" KRB5RCACHEDIR="$KRB5RCACHEDIR" \
			apache2 -f "$KCDLAB/apache/httpd.conf" -k start 2>>"$KCDLAB/apache/start.err" && wait_tcp "$HTTP_PORT"; then
			for _ in $(seq 100); do [ -s "$KCDLAB/apache/run/httpd.pid" ] && break; sleep 0.05; done
			log "apache2 up (pid $(cat "$KCDLAB/apache/run/httpd.pid")) on 127.0.0.1:$HTTP_PORT in $(el "$t0")"
			return 0
		fi
		[ -z "${KCD_HTTP_PORT:-}" ] || break
		log "apache2 did not start on port $HTTP_PORT (try $try), picking another"
	done
	die "apache2 did not start; see $KCDLAB/apache/start.err and $KCDLAB/apache/logs/error.log"
}

write_env() {
	cat >"$KCDLAB/lab.env" <<-EOF
	KCDLAB=$KCDLAB
	REALM=$REALM
	KRB5_CONFIG=$KCDLAB/krb5.conf
	KRB5_KDC_PROFILE=$KCDLAB/kdc.conf
	KDC_ADDR=127.0.0.1:$KDC_PORT
	CONNECTOR_PRINCIPAL=$CONNECTOR
	CONNECTOR_KEYTAB=$KCDLAB/connector.keytab
	NOPROTO_PRINCIPAL=$NOPROTO
	NOPROTO_KEYTAB=$KCDLAB/noproto.keytab
	BACKEND_SPN=$BACKEND_SPN
	BACKEND_KEYTAB=$KCDLAB/backend.keytab
	OTHER_SPN=$OTHER_SPN
	BACKEND_HOST=$BACKEND_HOST:$HTTP_PORT
	BACKEND_ADDR=127.0.0.1:$HTTP_PORT
	BACKEND_URL=http://$BACKEND_HOST:$HTTP_PORT/private/whoami.shtml
	ACCESS_LOG=$KCDLAB/apache/logs/access.log
	DELEGABLE_USERS=alice,bob,dave
	NOT_DELEGABLE_USER=carol
	UPN_ALIAS=alice@example.test
	EOF
}

cmd_start() {
	local T0
	T0=$(ts)
	[ "$(id -u)" = 0 ] || die "start needs root (Apache's workers run as www-data and read the backend keytab)"
	case "$KCDLAB" in /tmp/?*) ;; *) die "KCDLAB must be a directory under /tmp (start wipes it): $KCDLAB" ;; esac
	cmd_install
	cmd_stop
	rm -rf "$KCDLAB"
	mkdir -p "$KCDLAB"
	chmod 755 "$KCDLAB"
	start_slapd
	KDC_PORT=0
	write_krb5_conf
	write_kdc_conf
	make_realm
	start_kdc
	HTTP_PORT=0
	start_apache
	write_env
	log "lab ready in $KCDLAB in $(el "$T0")"
}

cmd_env() {
	[ -s "$KCDLAB/lab.env" ] || die "no lab in $KCDLAB: run '$0 start'"
	cat "$KCDLAB/lab.env"
}

cmd_prove() {
	local rc=0 code out url res
	# shellcheck disable=SC1091
	. "$KCDLAB/lab.env"
	url=$BACKEND_URL
	res="--resolve $BACKEND_HOST:127.0.0.1"
	log "1) no credentials -> 401"
	code=$(curl -s -o /dev/null -w '%{http_code}' $res "$url"); echo "   HTTP $code"; [ "$code" = 401 ] || rc=1
	log "2) connector: kinit -k; kvno -U alice -P $BACKEND_SPN (S4U2Self + S4U2Proxy)"
	export KRB5CCNAME="FILE:$KCDLAB/cc.connector"
	kinit -k -t "$CONNECTOR_KEYTAB" "$CONNECTOR"
	rm -f "$KCDLAB/cc.delegated"
	kvno -U alice -P --out-cache "FILE:$KCDLAB/cc.delegated" "$BACKEND_SPN" | sed 's/^/   /' || rc=1
	log "3) curl --negotiate with only the delegated ticket"
	out=$(KRB5CCNAME="FILE:$KCDLAB/cc.delegated" curl -s -w 'HTTP %{http_code}\n' --negotiate -u : $res "$url")
	echo "$out" | sed 's/^/   /'
	echo "$out" | grep -q '^REMOTE_USER=alice$' || rc=1
	log "4) $OTHER_SPN is not in the delegation list -> refused"
	if kvno -U alice -P --out-cache "FILE:$KCDLAB/cc.neg" "$OTHER_SPN" >/dev/null 2>"$KCDLAB/neg.err"; then
		echo "   UNEXPECTED: delegation to $OTHER_SPN succeeded"; rc=1
	else sed 's/^/   /' "$KCDLAB/neg.err"; fi
	log "5) carol is not delegable -> refused"
	if kvno -U carol -P --out-cache "FILE:$KCDLAB/cc.neg" "$BACKEND_SPN" >/dev/null 2>"$KCDLAB/neg.err"; then
		echo "   UNEXPECTED: delegation of carol succeeded"; rc=1
	else sed 's/^/   /' "$KCDLAB/neg.err"; fi
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
*) sed -n '2,30p' "$0" >&2; exit 2 ;;
esac
