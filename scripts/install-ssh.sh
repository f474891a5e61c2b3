#!/bin/sh
# Installs OpenSSH (Debian's openssh-server and openssh-client) for the
# TCP-app e2e test (e2e/tcp_test.go runs a real sshd behind a connector),
# unless sshd and ssh are already there. Idempotent; needs root for apt-get.
set -eu
if [ -x /usr/sbin/sshd ] && command -v ssh >/dev/null 2>&1 && command -v ssh-keygen >/dev/null 2>&1; then
	exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
	echo "install-ssh: sshd or ssh is missing and apt-get is not available; install openssh-server and openssh-client by hand" >&2
	exit 1
fi
SUDO=
if [ "$(id -u)" != 0 ]; then
	SUDO=sudo
fi
echo "installing openssh-server and openssh-client with apt-get" >&2
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends openssh-server openssh-client
[ -x /usr/sbin/sshd ]
