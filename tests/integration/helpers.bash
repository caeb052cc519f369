# Shared by the integration tests: the built binary, a busybox rootfs, leak checks.
# BURROW (the binary) and MAKE_ROOTFS come from tests/integration.sh.

burrow() { "$BURROW" "$@"; }

# The host ID that inside ID $2 maps to, read from a container's uid_map/gid_map text in $1.
outside_id() {
    awk -v id="$2" '$1 <= id && id < $1 + $3 { print $2 + id - $1; found = 1 } END { if (!found) exit 1 }' <<<"$1"
}

make_rootfs() {
    "$MAKE_ROOTFS" "$1" >/dev/null
}

# The caller's first range in /etc/subuid (and /etc/subgid): "START COUNT", empty without.
subid_range() {
    local file=${1:-/etc/subuid} line
    line=$(grep -E "^($(id -un)|$(id -u)):" "$file" 2>/dev/null | head -1) || true
    [ -n "$line" ] && echo "$(cut -d: -f2 <<<"$line") $(cut -d: -f3 <<<"$line")"
    return 0
}

# burrow maps a range when the caller has one in both files and the helpers exist (root needs none).
has_range() {
    [ -n "$(subid_range /etc/subuid)" ] && [ -n "$(subid_range /etc/subgid)" ] &&
        { [ "$(id -u)" = 0 ] || command -v newuidmap >/dev/null; }
}

common_setup_file() {
    export ROOTFS="$BATS_FILE_TMPDIR/rootfs"
    make_rootfs "$ROOTFS"
    # A user without a range is warned once per runroot; take that first run here so the tests
    # see what every later run prints (tests/integration/userns.bats checks the warning itself).
    "$BURROW" run --rootfs "$ROOTFS" true 2>/dev/null || true
}

common_setup() {
    MOUNTS_BEFORE=$(cat /proc/self/mountinfo)
}

my_leftovers() {
    pgrep -u "$(id -u)" -x burrow-init || true
    pgrep -u "$(id -u)" -x burrow-slirp || true
    pgrep -u "$(id -u)" -f '^sleep 1234[0-9]' || true   # anchored: a burrow-userns holder keeps the argv of the run that started it
}

# After every test: nothing of the container may remain on the host.
common_teardown() {
    local i left
    for i in $(seq 50); do
        left=$(my_leftovers)
        [ -z "$left" ] && break
        sleep 0.1
    done
    if [ -n "$left" ]; then
        echo "processes left behind: $left" >&2
        ps -o pid,user,args -p "$(echo $left | tr ' ' ',')" >&2 || true
        return 1
    fi
    if [ "$(cat /proc/self/mountinfo)" != "$MOUNTS_BEFORE" ]; then
        echo "host mount table changed:" >&2
        diff <(echo "$MOUNTS_BEFORE") /proc/self/mountinfo >&2 || true
        return 1
    fi
}

# Wait until file $1 exists (up to 10 s).
wait_for_file() {
    local i
    for i in $(seq 100); do
        [ -e "$1" ] && return 0
        sleep 0.1
    done
    echo "timed out waiting for $1" >&2
    return 1
}

assert_status() {
    if [ "$status" -ne "$1" ]; then
        echo "expected exit status $1, got $status; output: $output" >&2
        return 1
    fi
}

assert_output_has() {
    if ! grep -qE -- "$1" <<<"$output"; then
        echo "output does not match /$1/:" >&2
        echo "$output" >&2
        return 1
    fi
}
