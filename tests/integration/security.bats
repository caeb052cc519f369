#!/usr/bin/env bats
# Security: the escape battery (tests/helpers/escape.c) inside containers, capabilities as
# /proc/self/status shows them, seccomp profiles (burrow's default, Docker's and podman's JSON,
# one of our own), no_new_privs against setuid binaries, masked and read-only /proc and /sys.

bats_require_minimum_version 1.5.0
load helpers

DOCKER_PROFILE=/usr/share/gocode/src/github.com/docker/docker/profiles/seccomp/default.json
PODMAN_PROFILE=/usr/share/containers/seccomp.json
# Docker's default set: CHOWN DAC_OVERRIDE FOWNER FSETID KILL SETGID SETUID SETPCAP
# NET_BIND_SERVICE NET_RAW SYS_CHROOT MKNOD AUDIT_WRITE SETFCAP
DEFAULT_CAPS=00000000a80425fb

setup_file() {
    common_setup_file
    [ -x "${ESCAPE:-}" ] || { export SEC_SKIP="the escape test helper was not built (make check builds tests/helpers/escape)"; return 0; }
    mkdir -p "$ROOTFS/probe"
    cp "$ESCAPE" "$ROOTFS/probe/escape"
    # setuid root inside: the file belongs to the caller, who is root in the container
    cp "$ESCAPE" "$ROOTFS/probe/escape-suid"
    chmod 4755 "$ROOTFS/probe/escape-suid"
    # a marker on the host side of every bind: seen inside only where it was bound
    echo host >"$BATS_FILE_TMPDIR/marker"
}

setup() {
    [ -z "${SEC_SKIP:-}" ] || skip "$SEC_SKIP"
    common_setup
}

teardown() {
    common_teardown
}

# The lines of /proc/self/status we check, from a container run with the given options.
status_of() {
    burrow run --rootfs "$ROOTFS" "$@" sh -c 'grep -E "^(Cap(Inh|Prm|Eff|Bnd|Amb)|NoNewPrivs|Seccomp):" /proc/self/status'
}

# -u 1000 exists inside with a subordinate range, or as root (the whole ID space is mapped)
uid_1000_mapped() {
    burrow run --rootfs "$ROOTFS" -u 1000 true 2>/dev/null
}

field() {
    awk -v f="$1:" '$1 == f { print $2 }' <<<"$2"
}

@test "escape battery, default settings: every attempt fails with the expected error; the host is unchanged" {
    local hostname_before ro="$BATS_TEST_TMPDIR/ro" keys_before
    hostname_before=$(cat /proc/sys/kernel/hostname)
    mkdir -p "$ro"
    echo original >"$ro/file"
    run burrow run --rootfs "$ROOTFS" -v "$ro:/ro:ro" -e ESCAPE_RO_PATH=/ro/file -e ESCAPE_HOST_PID=$$ /probe/escape
    echo "$output"
    assert_status 0
    [[ "$output" != *ESCAPED* ]]
    [[ "$output" == *"done 0"* ]]
    # each attempt, and how it fails
    for line in "mount blocked EPERM" "umount blocked EPERM" "bind-mount blocked EPERM" "pivot_root blocked EPERM" \
        "keyctl blocked EPERM" "add_key blocked EPERM" "bpf blocked EPERM" "perf_event_open blocked EPERM" \
        "open_by_handle_at blocked EPERM" "unshare-user blocked EPERM" "clone-newuser blocked EPERM" \
        "unshare-mnt blocked EPERM" "ptrace-host blocked ESRCH" "readonly-bind blocked EROFS" \
        "mknod-block blocked EPERM" "mknod-mem blocked EPERM" "rlimit blocked EPERM" "chroot blocked stayed-inside"; do
        grep -qxF "$line" <<<"$output" || { echo "missing: $line" >&2; return 1; }
    done
    # /proc/sys is read-only (or not ours); sysrq-trigger and kcore absent on some kernels, masked otherwise
    grep -qE '^proc-sys blocked (EROFS|EACCES)$' <<<"$output"
    grep -qE '^sysrq-trigger blocked (EROFS|EACCES|ENOENT)$' <<<"$output"
    grep -qE '^kcore blocked (masked|ENOENT|EACCES)$' <<<"$output"
    # PID 1 is burrow's non-dumpable init: no ptrace, no namespace files, no /proc/1/exe
    grep -qE '^ptrace-init blocked (EPERM|EACCES)$' <<<"$output"
    for ns in user mnt pid net; do grep -qE "^setns-$ns blocked (EACCES|EPERM)$" <<<"$output"; done
    grep -qE '^proc1-root blocked (EACCES|EPERM)$' <<<"$output"
    grep -qE '^proc-exe blocked (EACCES|EPERM|ETXTBSY)$' <<<"$output"
    # nothing changed outside
    [ "$(cat "$ro/file")" = original ]
    [ "$(cat /proc/sys/kernel/hostname)" = "$hostname_before" ]
    [ ! -e "$ROOTFS/tmp/sda" ] && [ ! -e "$ROOTFS/tmp/mem" ]
}

@test "escape battery in an image container and through burrow exec: the same confinement" {
    command -v jq >/dev/null || skip "jq missing (scripts/install-deps installs it)"
    tar -C "$ROOTFS" -cf "$BATS_TEST_TMPDIR/r.tar" .
    burrow import "$BATS_TEST_TMPDIR/r.tar" sec:img >/dev/null
    run burrow run --rm sec:img /probe/escape
    echo "$output"
    assert_status 0
    [[ "$output" != *ESCAPED* ]]
    id=$(burrow run -d sec:img sleep 12345)
    run burrow exec "$id" /probe/escape
    echo "$output"
    assert_status 0
    [[ "$output" != *ESCAPED* ]]
    run burrow exec "$id" sh -c 'grep -E "^(CapEff|CapBnd|NoNewPrivs|Seccomp):" /proc/self/status'
    [ "$(field CapEff "$output")" = "$DEFAULT_CAPS" ]
    [ "$(field CapBnd "$output")" = "$DEFAULT_CAPS" ]
    [ "$(field NoNewPrivs "$output")" = 1 ]
    [ "$(field Seccomp "$output")" = 2 ]
    burrow rm -f "$id" >/dev/null
    burrow rmi sec:img >/dev/null
}

@test "TIOCSTI: a workload without -t cannot push keystrokes into the caller's terminal" {
    command -v script >/dev/null || skip "script (util-linux) missing"
    # script gives burrow a terminal; without -t the container shares it (stdout, stderr; stdin
    # with -i), in a session of its own, so the terminal is not its controlling one
    run script -qec "$BURROW run -i --rootfs $ROOTFS /probe/escape tiocsti" /dev/null
    echo "$output"
    [[ "$output" != *ESCAPED* ]]
    local fd
    for fd in 0 1 2; do
        grep -qE "^tiocsti-fd$fd blocked (EPERM|EIO|EACCES)" <<<"${output//$'\r'/}"
    done
}

@test "capabilities: Docker's set for root, the bounding set only for another user; inheritable and ambient empty" {
    run status_of
    assert_status 0
    [ "$(field CapPrm "$output")" = "$DEFAULT_CAPS" ]
    [ "$(field CapEff "$output")" = "$DEFAULT_CAPS" ]
    [ "$(field CapBnd "$output")" = "$DEFAULT_CAPS" ]
    [ "$(field CapInh "$output")" = 0000000000000000 ]
    [ "$(field CapAmb "$output")" = 0000000000000000 ]
    [ "$(field NoNewPrivs "$output")" = 1 ]
    [ "$(field Seccomp "$output")" = 2 ]
    if ! uid_1000_mapped; then
        echo "# -u 1000 needs a subordinate ID range (this user has none): the non-root sets are checked in user mode" >&3
        return 0
    fi
    run status_of -u 1000
    assert_status 0
    [ "$(field CapPrm "$output")" = 0000000000000000 ]
    [ "$(field CapEff "$output")" = 0000000000000000 ]
    [ "$(field CapBnd "$output")" = "$DEFAULT_CAPS" ]
    [ "$(field CapInh "$output")" = 0000000000000000 ]
    [ "$(field CapAmb "$output")" = 0000000000000000 ]
}

@test "--cap-add and --cap-drop: names with or without CAP_, any case, ALL; bad names are refused" {
    # NET_ADMIN is bit 12, CHOWN bit 0, KILL bit 5
    run status_of --cap-add NET_ADMIN --cap-drop cap_chown
    assert_status 0
    [ "$(field CapEff "$output")" = 00000000a80435fa ]
    [ "$(field CapBnd "$output")" = 00000000a80435fa ]
    run status_of --cap-drop ALL --cap-add CAP_KILL
    [ "$(field CapEff "$output")" = 0000000000000020 ]
    [ "$(field CapBnd "$output")" = 0000000000000020 ]
    last=$(cat /proc/sys/kernel/cap_last_cap)
    all=$(printf '%016x' $(( (1 << (last + 1)) - 1 )))
    run status_of --cap-add all --cap-drop SYS_ADMIN
    [ "$(field CapEff "$output")" = "$(printf '%016x' $(( 0x$all & ~(1 << 21) )))" ]
    # the capability is real: NET_ADMIN lets root bring up a dummy device... here: set the loopback's MTU
    run burrow run --rootfs "$ROOTFS" --cap-add NET_ADMIN ip link set lo mtu 1400
    assert_status 0
    run burrow run --rootfs "$ROOTFS" ip link set lo mtu 1400
    [ "$status" -ne 0 ]
    run burrow run --rootfs "$ROOTFS" --cap-add NOT_A_CAP true
    assert_status 125
    [[ "$output" == *"unknown capability \`NOT_A_CAP\`"* ]]
}

@test "--privileged: every capability, no seccomp, nothing masked; still no_new_privs and no host root" {
    last=$(cat /proc/sys/kernel/cap_last_cap)
    all=$(printf '%016x' $(( (1 << (last + 1)) - 1 )))
    run status_of --privileged
    assert_status 0
    [ "$(field CapEff "$output")" = "$all" ]
    [ "$(field CapBnd "$output")" = "$all" ]
    [ "$(field Seccomp "$output")" = 0 ]
    [ "$(field NoNewPrivs "$output")" = 1 ]
    # masked by default, not with --privileged
    run burrow run --rootfs "$ROOTFS" sh -c 'grep -E " /(proc/sys|sys/firmware|proc/timer_list) " /proc/self/mountinfo'
    [[ "$output" == *" /proc/sys "* ]]
    run burrow run --rootfs "$ROOTFS" --privileged sh -c 'grep -E " /(proc/sys|sys/firmware|proc/timer_list) " /proc/self/mountinfo'
    [ -z "$output" ]
    # root inside is still the caller outside: a file it makes is the caller's
    local d="$BATS_TEST_TMPDIR/w"
    mkdir -p "$d"
    burrow run --rootfs "$ROOTFS" --privileged -v "$d:/w" touch /w/f
    [ "$(stat -c %u "$d/f")" = "$(id -u)" ]
}

@test "masked paths: /proc/timer_list reads empty, /sys/firmware is an empty read-only tmpfs, /proc/sys is read-only" {
    run burrow run --rootfs "$ROOTFS" sh -c '
        [ -e /proc/timer_list ] && echo "timer_list:$(wc -c </proc/timer_list)"
        [ -d /sys/firmware ] && echo "firmware:$(ls -A /sys/firmware | wc -l)"
        touch /sys/firmware/x 2>/dev/null && echo firmware-writable
        grep -E " /proc/sys " /proc/self/mountinfo | grep -q " ro," && echo proc-sys-ro
        echo 1 >/proc/sys/net/ipv4/ip_forward 2>/dev/null && echo ip_forward-written
        true'
    echo "$output"
    assert_status 0
    if [ -e /proc/timer_list ]; then [[ "$output" == *"timer_list:0"* ]]; fi
    if [ -d /sys/firmware ]; then [[ "$output" == *"firmware:0"* ]]; fi
    [[ "$output" != *firmware-writable* ]]
    [[ "$output" == *proc-sys-ro* ]]
    [[ "$output" != *ip_forward-written* ]]
}

@test "seccomp: keyctl EPERM, a syscall newer than the filter ENOSYS, clone3 ENOSYS (libc falls back); unconfined has no filter" {
    # busybox has no keyctl: the battery's own line, and a number above every known syscall
    run burrow run --rootfs "$ROOTFS" /probe/escape
    grep -qxF "keyctl blocked EPERM" <<<"$output"
    grep -qxF "clone3 blocked ENOSYS" <<<"$output"
    grep -qxF "syscall-1000 blocked ENOSYS" <<<"$output"
    run status_of --security-opt seccomp=unconfined
    [ "$(field Seccomp "$output")" = 0 ]
    run burrow run --rootfs "$ROOTFS" --security-opt seccomp=unconfined /probe/escape
    echo "$output"
    # without the filter the user namespace still stops most, but keyctl and clone3 reach the kernel
    [[ "$output" != *"keyctl blocked EPERM"* ]]
    grep -q "^clone3 blocked EINVAL" <<<"$output"

    # threads (clone3 then clone) and everyday programs work under the filter
    run burrow run --rootfs "$ROOTFS" sh -c 'sleep 0.1 & wait; tar -cf /tmp/t.tar /etc 2>/dev/null; echo ok'
    assert_status 0
    [[ "$output" == *ok* ]]
}

@test "seccomp=FILE: a profile of our own applies; Docker's default.json and podman's seccomp.json load and behave as documented" {
    local p="$BATS_TEST_TMPDIR/deny-mkdir.json"
    cat >"$p" <<'EOF'
{"defaultAction": "SCMP_ACT_ALLOW",
 "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13},
              {"names": ["chdir"], "action": "SCMP_ACT_ERRNO"}]}
EOF
    # -w: burrow's own chdir comes before the filter
    run burrow run --rootfs "$ROOTFS" -w /tmp --security-opt "seccomp=$p" sh -c 'mkdir /tmp/x; echo "rc=$?"; pwd; cd /; echo "cd=$?"'
    echo "$output"
    [[ "$output" == *"Permission denied"* ]]
    [[ "$output" == *"rc=1"* ]]
    [[ "$output" == *"/tmp"* ]]
    [[ "$output" == *"Operation not permitted"* ]]
    [[ "$output" != *"cd=0"* ]]
    # the built-in profile, printed, is a profile like any other
    burrow seccomp-profile >"$BATS_TEST_TMPDIR/default.json"
    run burrow run --rootfs "$ROOTFS" --security-opt "seccomp=$BATS_TEST_TMPDIR/default.json" /probe/escape
    assert_status 0
    grep -qxF "keyctl blocked EPERM" <<<"$output"
    grep -qxF "syscall-1000 blocked ENOSYS" <<<"$output"
    if [ -r "$DOCKER_PROFILE" ]; then
        run burrow run --rootfs "$ROOTFS" --security-opt "seccomp=$DOCKER_PROFILE" /probe/escape
        echo "$output"
        assert_status 0
        grep -qxF "keyctl blocked EPERM" <<<"$output"
        grep -qxF "unshare-user blocked EPERM" <<<"$output"
        [[ "$output" != *ESCAPED* ]]
    else
        echo "# $DOCKER_PROFILE missing (golang-github-docker-docker-dev; scripts/install-deps installs it): Docker's profile not checked" >&3
    fi
    if [ -r "$PODMAN_PROFILE" ]; then
        # podman's profile: ENOSYS by default, keyctl and unshare allowed, bpf refused
        run burrow run --rootfs "$ROOTFS" --security-opt "seccomp=$PODMAN_PROFILE" /probe/escape
        echo "$output"
        grep -qxF "bpf blocked EPERM" <<<"$output"
        [[ "$output" != *"keyctl blocked EPERM"* ]]
        grep -q "^unshare-user ESCAPED" <<<"$output"
    else
        echo "# $PODMAN_PROFILE missing (golang-github-containers-common): podman's profile not checked" >&3
    fi
}

@test "seccomp=FILE errors: a missing file, broken JSON, an unknown action: exit 125 naming the file, no container" {
    run burrow run --rootfs "$ROOTFS" --security-opt seccomp=/nonexistent.json true
    assert_status 125
    [[ "$output" == *"/nonexistent.json"* ]]
    local p="$BATS_TEST_TMPDIR/broken.json"
    echo '{"defaultAction": ' >"$p"
    run burrow run --rootfs "$ROOTFS" --security-opt "seccomp=$p" true
    assert_status 125
    [[ "$output" == *"$p"*"not valid JSON"* ]]
    echo '{"defaultAction": "SCMP_ACT_EXPLODE"}' >"$p"
    run burrow run --rootfs "$ROOTFS" --security-opt "seccomp=$p" true
    assert_status 125
    [[ "$output" == *"SCMP_ACT_EXPLODE"* ]]
    # without no_new_privs the profile applies before burrow switches users: one that forbids
    # setresuid says so (as root inside there is no switch; other IDs need a range)
    echo '{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["setresuid"], "action": "SCMP_ACT_ERRNO"}]}' >"$p"
    if uid_1000_mapped; then
        run burrow run --rootfs "$ROOTFS" -u 1000 --security-opt no-new-privileges=false --security-opt "seccomp=$p" true
        assert_status 125
        [[ "$output" == *"switching to uid 1000"*"must allow"*"setresuid"* ]]
        # with no_new_privs (the default) the filter comes after the switch
        run burrow run --rootfs "$ROOTFS" -u 1000 --security-opt "seccomp=$p" id -u
        assert_status 0
        [ "$output" = 1000 ]
    fi
    run burrow run --rootfs "$ROOTFS" --security-opt bogus true
    assert_status 125
    [[ "$output" == *"--security-opt \`bogus\`"* ]]
    run burrow ps -a -q
    [ -z "$output" ]
}

@test "no_new_privs: a setuid-root binary gives -u 1000 nothing; no-new-privileges=false lets it work" {
    uid_1000_mapped || skip "-u 1000 needs a subordinate ID range (this user has none)"
    run burrow run --rootfs "$ROOTFS" -u 1000 -e ESCAPE_SETUID=/probe/escape-suid /probe/escape
    echo "$output"
    grep -qxF "setuid blocked euid-unchanged" <<<"$output"
    # the setup is sound: without no_new_privs the same binary does give euid 0
    run burrow run --rootfs "$ROOTFS" -u 1000 --security-opt no-new-privileges=false /probe/escape-suid print-euid
    assert_status 0
    run status_of --security-opt no-new-privileges=false
    [ "$(field NoNewPrivs "$output")" = 0 ]
    [ "$(field Seccomp "$output")" = 2 ]
}

@test "a symlink swapped under a bind target during start-up never takes the bind or its mount point outside the container" {
    local shared="$BATS_TEST_TMPDIR/shared" src="$BATS_TEST_TMPDIR/src" outside="$BATS_TEST_TMPDIR/outside"
    mkdir -p "$shared/t" "$src" "$outside"
    echo bound >"$src/bound-marker"
    # the racer: t flips between a directory and symlinks to a host directory and out with ..
    # A mount point followed through it on the host side would be created there: outside/sub.
    (
        for i in $(seq 5000); do
            rm -rf "$shared/t" && ln -sfn "$outside" "$shared/t"
            rm -f "$shared/t" && ln -sfn ../../../../../../.. "$shared/t"
            rm -f "$shared/t" && mkdir -p "$shared/t"
        done
    ) &
    local racer=$! i
    for i in $(seq 20); do
        run burrow run --rootfs "$ROOTFS" -v "$shared:/vol" -v "$src:/vol/t/sub:ro" sh -c 'ls /vol/t/sub 2>/dev/null; true'
        # a run either binds inside (the symlinks resolve in the container's root) or fails cleanly
        [ "$status" -eq 0 ] || [ "$status" -eq 125 ]
        [ ! -e "$outside/sub" ] || { echo "run $i made a mount point on the host: $outside/sub" >&2; return 1; }
    done
    kill "$racer" 2>/dev/null || true
    wait "$racer" 2>/dev/null || true
    [ -z "$(ls -A "$outside")" ]
    [ "$(ls "$src")" = bound-marker ]
}
