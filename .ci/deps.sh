#!/bin/sh
# deps.sh PKG...: make sure the named Debian packages are installed.  As root, installs the
# missing ones with apt-get (running `apt-get update` first); otherwise prints the exact
# apt-get line and fails.  A name of the form cmd:PKG is satisfied by a `cmd` on PATH.
set -u
missing=""
for spec in "$@"; do
	case "$spec" in
	*:*) cmd=${spec%%:*}; pkg=${spec#*:}
	     command -v "$cmd" >/dev/null 2>&1 && continue ;;
	*)   pkg=$spec ;;
	esac
	dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "ok installed" && continue
	missing="$missing $pkg"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" != 0 ]; then
	echo "allocguard: missing packages; install them with:" >&2
	echo "  sudo apt-get install -y$missing" >&2
	exit 1
fi
echo "allocguard: installing$missing" >&2
export DEBIAN_FRONTEND=noninteractive
# Another apt-get (a second CI job) may hold the dpkg and list locks: wait for them, up to
# 15 minutes.  install waits by itself (DPkg::Lock::Timeout); update does not, so retry it.
lock="-o DPkg::Lock::Timeout=900"
tries=0
until out=$(apt-get $lock update -qq 2>&1); do
	case "$out" in
	*"Could not get lock"*|*"Unable to lock"*) ;;
	*) echo "$out" >&2; exit 1 ;;
	esac
	tries=$((tries + 1))
	[ "$tries" -ge 180 ] && { echo "allocguard: apt lists stayed locked for 15 minutes" >&2; exit 1; }
	[ "$tries" -eq 1 ] && echo "allocguard: another apt-get holds the lock; waiting" >&2
	sleep 5
done
apt-get $lock install -y -qq --no-install-recommends $missing >/dev/null || {
	echo "allocguard: apt-get install$missing failed" >&2
	exit 1
}
