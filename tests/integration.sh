#!/usr/bin/env bash
# Integration tests: the built burrow binary against real components, as a user would run it.
#
#   tests/integration.sh user|norange|root
#
# user     as `burrow-test`, a user with a subordinate ID range (useradd's automatic allocation)
# norange  as `burrow-norange`, made with SUB_UID_COUNT=0: no range at all
# root     as root
# Run as root, the setup creates both users, and runs the tests through runuser with a clean
# environment (HOME and the XDG variables set) against a copy of the binary that they can read.
# Run as a normal user, "user" mode runs as that user and the others skip, saying why.
# Output is TAP (bats), read by automake's tap-driver.
set -euo pipefail

mode=${1:?usage: integration.sh user|norange|root}
srcdir=${BURROW_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
binary=${BURROW_BUILD:-$srcdir/build/burrow}

skip_all() { echo "1..0 # SKIP $*"; exit 0; }

[ -x "$binary" ] || { echo "Bail out! burrow binary not found at $binary (build first)"; exit 1; }
command -v bats >/dev/null || { echo "Bail out! bats is not installed (apt-get install bats)"; exit 1; }
[ -x /bin/busybox ] || { echo "Bail out! busybox-static is not installed (apt-get install busybox-static)"; exit 1; }

me=$(id -u)
case "$mode" in
    user) user=burrow-test ;;
    norange) user=burrow-norange ;;
    root) user=root ;;
    *) echo "Bail out! unknown mode $mode"; exit 1 ;;
esac

if [ "$me" != 0 ]; then
    [ "$mode" = user ] || skip_all "needs root to create the $user user and switch to it (running as uid $me)"
    user=$(id -un)
else
    # Stock device modes on Debian/Fedora; these test machines ship them 0600.
    echo "# test setup: chmod 0666 /dev/fuse /dev/net/tun (their stock mode on Debian/Fedora)"
    for dev in /dev/fuse /dev/net/tun; do [ -e "$dev" ] && chmod 0666 "$dev"; done
    # flock: `make -j check` runs the modes at once, and useradd fails on a locked /etc/passwd.
    if [ "$mode" = user ] && ! id burrow-test >/dev/null 2>&1; then
        flock /tmp/burrow-test-useradd.lock useradd --create-home --shell /bin/sh burrow-test
    fi
    if [ "$mode" = norange ] && ! id burrow-norange >/dev/null 2>&1; then
        flock /tmp/burrow-test-useradd.lock \
            useradd --create-home --shell /bin/sh -K SUB_UID_COUNT=0 -K SUB_GID_COUNT=0 burrow-norange
    fi
fi

# A copy the test user can read (the build tree may sit under /root).
stage=$(mktemp -d /tmp/burrow-it-"$mode".XXXXXX)
trap 'rm -rf "$stage"' EXIT
chmod 0755 "$stage"
cp "$binary" "$stage/burrow"
cp "$srcdir"/tests/integration/*.bats "$srcdir"/tests/integration/helpers.bash "$stage/"
cp "$srcdir/scripts/make-rootfs" "$stage/make-rootfs"
dropproxy=${BURROW_DROPPROXY:-$(dirname "$binary")/tests/helpers/dropproxy}
[ -x "$dropproxy" ] && cp "$dropproxy" "$stage/dropproxy"
cp "$srcdir/tests/helpers/token-server.py" "$stage/token-server.py"
escape=${BURROW_ESCAPE:-$(dirname "$binary")/tests/helpers/escape}
[ -x "$escape" ] && cp "$escape" "$stage/escape"
udpecho=${BURROW_UDPECHO:-$(dirname "$binary")/tests/helpers/udpecho}
[ -x "$udpecho" ] && cp "$udpecho" "$stage/udpecho"
chmod -R a+rX "$stage"

home=$(getent passwd "$user" | cut -d: -f6)
[ "$mode" = root ] && home=$stage/home-root && mkdir -p "$home"
uid=$(id -u "$user")
echo "# running as $user (uid $uid), subuid: $(grep -E "^($user|$uid):" /etc/subuid 2>/dev/null | tr '\n' ' ' || true)"

envs=(HOME="$home" USER="$user" LOGNAME="$user" PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
      XDG_DATA_HOME="$home/.local/share" XDG_CONFIG_HOME="$home/.config"
      BURROW="$stage/burrow" MAKE_ROOTFS="$stage/make-rootfs" DROPPROXY="$stage/dropproxy" ESCAPE="$stage/escape" UDPECHO="$stage/udpecho" TOKEN_SERVER="$stage/token-server.py" TMPDIR=/tmp LANG=C.UTF-8
      ASAN_OPTIONS="${ASAN_OPTIONS:-}" UBSAN_OPTIONS="${UBSAN_OPTIONS:-}")
# For a quicker loop while developing: BURROW_TESTS="containers run" picks files, BURROW_FILTER a
# regex of test names (bats -f).
files=("$stage"/*.bats)
if [ -n "${BURROW_TESTS:-}" ]; then
    files=()
    for t in $BURROW_TESTS; do files+=("$stage/$t.bats"); done
fi
filter=()
[ -n "${BURROW_FILTER:-}" ] && filter=(-f "$BURROW_FILTER")
cd "$stage"
if [ "$me" = 0 ] && [ "$user" != root ]; then
    exec runuser -u "$user" -- env -i "${envs[@]}" bats --tap "${filter[@]}" "${files[@]}"
fi
exec env -i "${envs[@]}" bats --tap "${filter[@]}" "${files[@]}"
