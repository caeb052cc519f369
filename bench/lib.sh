# Sourced by the bench scripts: they measure as the unprivileged user burrow-test, as our users
# run burrow. As root, a script copies itself, this file, the burrow binary, scripts/make-rootfs
# and what else it needs where burrow-test can read them, and runs that copy as burrow-test.

# bench_stage SCRIPT BURROW [FILE...]: the copies, in a new directory (printed). Makes the user
# burrow-test if missing.
bench_stage() {
    local script=$1 burrow=$2 lib_dir stage f
    shift 2
    lib_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
    id burrow-test >/dev/null 2>&1 || useradd --create-home --shell /bin/sh burrow-test
    stage=$(mktemp -d /tmp/burrow-bench.XXXXXX)
    cp "$burrow" "$stage/burrow"
    cp "$script" "$lib_dir/lib.sh" "$lib_dir/../scripts/make-rootfs" "$stage/"
    for f in "$@"; do cp "$f" "$stage/"; done
    chmod -R a+rX "$stage"
    chmod 0755 "$stage"
    echo "$stage"
}

# bench_as_user SCRIPT BURROW [FILE...] [-- VAR=VALUE...]: as root (unless BENCH_AS_ROOT is set),
# run the staged copy of SCRIPT as burrow-test with the staged burrow, MAKE_ROOTFS and the VARs,
# and exit with its status. Otherwise nothing.
bench_as_user() {
    [ "$(id -u)" = 0 ] && [ -z "${BENCH_AS_ROOT:-}" ] || return 0
    local script=$1 burrow=$2 files=() stage rc=0
    shift 2
    while [ $# -gt 0 ] && [ "$1" != -- ]; do
        files+=("$1")
        shift
    done
    [ $# -eq 0 ] || shift
    stage=$(bench_stage "$script" "$burrow" "${files[@]}")
    runuser -u burrow-test -- env HOME=/home/burrow-test MAKE_ROOTFS="$stage/make-rootfs" "$@" \
        bash "$stage/$(basename "$script")" "$stage/burrow" || rc=$?
    rm -rf "$stage"
    exit "$rc"
}
