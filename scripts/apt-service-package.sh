# Sourced by install scripts (sh): apt_service_package NAME PACKAGE SERVICE
# installs Debian's PACKAGE (apt-get update first) without ever starting
# its SERVICE: policy-rc.d refuses service starts while the package
# installs, and the service is stopped and disabled afterwards where
# systemd runs (the tests and the bench start their own servers). NAME
# prefixes the messages. Needs root or sudo; exits the script on failure.
apt_service_package() {
	name=$1 package=$2 service=$3
	if ! command -v apt-get >/dev/null 2>&1; then
		echo "$name: $package is missing, and apt-get is not available; install it by hand" >&2
		exit 1
	fi
	SUDO=
	if [ "$(id -u)" != 0 ]; then
		if ! command -v sudo >/dev/null 2>&1; then
			echo "$name: installing $package needs root (or sudo)" >&2
			exit 1
		fi
		SUDO=sudo
	fi
	echo "$name: apt-get update; installing $package" >&2
	$SUDO apt-get update -q -o DPkg::Lock::Timeout=600 >/dev/null
	policy=/usr/sbin/policy-rc.d
	made_policy=
	if [ ! -e "$policy" ]; then
		printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$policy" >/dev/null
		$SUDO chmod 755 "$policy"
		made_policy=1
	fi
	status=0
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q -o DPkg::Lock::Timeout=900 \
		--no-install-recommends "$package" >/dev/null || status=$?
	if [ -n "$made_policy" ]; then
		$SUDO rm -f "$policy"
	fi
	if [ "$status" != 0 ]; then
		echo "$name: apt-get install $package failed (exit $status)" >&2
		exit "$status"
	fi
	if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
		$SUDO systemctl disable --now "$service" >/dev/null 2>&1 || true
	fi
}
