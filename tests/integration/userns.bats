#!/usr/bin/env bats
# User namespaces with subordinate ID ranges, keep-id, the single-ID fallback, burrow unshare.

bats_require_minimum_version 1.5.0
load helpers

setup_file() { common_setup_file; }
setup() {
    common_setup
    if ! has_range; then
        RANGE_SKIP="$(id -un) has no subordinate range in /etc/subuid and /etc/subgid (or no newuidmap): this test needs one"
    else
        RANGE_SKIP=""
    fi
}
teardown() { common_teardown; }

need_range() { [ -z "$RANGE_SKIP" ] || skip "$RANGE_SKIP"; }

@test "a ranged map: uid_map and gid_map inside show the caller and the whole range" {
    need_range
    run burrow run --rootfs "$ROOTFS" sh -c 'cat /proc/self/uid_map; echo --; cat /proc/self/gid_map'
    assert_status 0
    [ "$(echo $output)" = "0 $(id -u) 1 1 $(subid_range /etc/subuid) -- 0 $(id -g) 1 1 $(subid_range /etc/subgid)" ]
}

@test "chown to mapped IDs works inside; on the host the owner is the matching sub-ID" {
    need_range
    rm -f "$ROOTFS/c1" "$ROOTFS/c2"
    run burrow run --rootfs "$ROOTFS" sh -c 'touch /c1 /c2 && chown 1000:1000 /c1 && chown 65534 /c2 && cat /proc/self/uid_map && echo -- && cat /proc/self/gid_map'
    assert_status 0
    uidmap=$(sed '/^--$/,$d' <<<"$output")
    gidmap=$(sed '1,/^--$/d' <<<"$output")
    start=$(subid_range | cut -d' ' -f1)
    [ "$(stat -c %u "$ROOTFS/c1")" = "$(outside_id "$uidmap" 1000)" ]
    [ "$(stat -c %u "$ROOTFS/c1")" = $((start + 999)) ]
    [ "$(stat -c %g "$ROOTFS/c1")" = "$(outside_id "$gidmap" 1000)" ]
    [ "$(stat -c %u "$ROOTFS/c2")" = "$(outside_id "$uidmap" 65534)" ]
}

@test "switching to a mapped user inside works (su, -u, --group-add)" {
    need_range
    run burrow run --rootfs "$ROOTFS" su -s /bin/sh -c 'id -u; id -g' nobody
    assert_status 0
    [ "$(echo $output)" = "65534 65534" ]
    run burrow run --rootfs "$ROOTFS" -u 1000:1000 --group-add 1234 --group-add 5 id -G
    assert_status 0
    [ "$output" = "1000 5 1234" ]   # the kernel keeps groups sorted
}

@test "--group-add under a single-ID map is refused with the reason" {
    run burrow run --rootfs "$ROOTFS" --userns=single --group-add 5 true
    if [ "$(id -u)" = 0 ]; then
        # real root may keep supplementary groups even with a one-ID map; GID 5 is not mapped
        assert_status 125
        assert_output_has "--group-add 5: that GID is not mapped"
    else
        assert_status 125
        assert_output_has "--group-add 5: that GID is not mapped|--group-add needs supplementary groups"
    fi
}

@test "--userns=keep-id: id -u inside is the caller's; files in a bind belong to the caller" {
    host="$BATS_TEST_TMPDIR/keep"
    mkdir -p "$host"
    run burrow run --rootfs "$ROOTFS" --userns=keep-id -v "$host:/data" sh -c 'id -u; id -g; echo k > /data/made'
    assert_status 0
    [ "${lines[0]}" = "$(id -u)" ]
    [ "${lines[1]}" = "$(id -g)" ]
    [ "$(stat -c %u:%g "$host/made")" = "$(id -u):$(id -g)" ]
}

@test "--userns=keep-id keeps the rest of the range mapped" {
    need_range
    [ "$(id -u)" != 0 ] || skip "for root keep-id is the default map (its own ID is 0)"
    run burrow run --rootfs "$ROOTFS" --userns=keep-id cat /proc/self/uid_map
    assert_status 0
    [ "$(outside_id "$output" "$(id -u)")" = "$(id -u)" ]
    start=$(subid_range | cut -d' ' -f1)
    [ "$(outside_id "$output" 0)" = "$start" ]
    [ "$(outside_id "$output" 65535)" != "" ]
}

@test "--userns=single forces the single-ID map" {
    run burrow run --rootfs "$ROOTFS" --userns=single cat /proc/self/uid_map
    assert_status 0
    [ "$(echo $output)" = "0 $(id -u) 1" ]
}

@test "no newuidmap on PATH: the container runs with a single-ID map, and the warning appears once" {
    [ "$(id -u)" != 0 ] || skip "root writes its maps itself and never needs newuidmap"
    rr="$BATS_TEST_TMPDIR/rr"
    mkdir -p "$BATS_TEST_TMPDIR/emptybin"
    run env PATH="$BATS_TEST_TMPDIR/emptybin" "$BURROW" --runroot "$rr" run --rootfs "$ROOTFS" cat /proc/self/uid_map
    assert_status 0
    assert_output_has "warning: using a single-ID map \\((newuidmap is not installed|no subordinate UID range)"
    assert_output_has "usermod --add-subuids 100000-165535 --add-subgids 100000-165535 $(id -un)"
    assert_output_has "^ +0 +$(id -u) +1$"
    run env PATH="$BATS_TEST_TMPDIR/emptybin" "$BURROW" --runroot "$rr" run --rootfs "$ROOTFS" cat /proc/self/uid_map
    assert_status 0
    [ "$(echo $output)" = "0 $(id -u) 1" ]   # no second warning
}

@test "a user without a range gets the single-ID map with the warning once" {
    ! has_range || skip "$(id -un) has a range; the norange suite covers this"
    [ "$(id -u)" != 0 ] || skip "root without a range gets the identity map"
    rr="$BATS_TEST_TMPDIR/rr2"
    run burrow --runroot "$rr" run --rootfs "$ROOTFS" id -u
    assert_status 0
    assert_output_has "warning: using a single-ID map \\(no subordinate UID range for this user\\)"
    [ "${lines[-1]}" = 0 ]
    run burrow --runroot "$rr" run --rootfs "$ROOTFS" id -u
    [ "$output" = 0 ]
}

@test "newuidmap refusing the map: a clear warning, then a whole single-ID map (never half a map)" {
    need_range
    [ "$(id -u)" != 0 ] || skip "root writes its maps itself and never runs newuidmap"
    bin="$BATS_TEST_TMPDIR/fakebin"
    mkdir -p "$bin"
    printf '#!/bin/sh\necho "newuidmap: uid range [1-65537) -> [100000-165536) not allowed" >&2\nexit 1\n' >"$bin/newuidmap"
    chmod +x "$bin/newuidmap"
    ln -s "$(command -v newgidmap)" "$bin/newgidmap"
    # a fresh runroot: no holder there yet, so the (fake) helper has to run
    run env PATH="$bin:/usr/bin:/bin" "$BURROW" --runroot "$BATS_TEST_TMPDIR/rr" run --rootfs "$ROOTFS" sh -c 'cat /proc/self/uid_map /proc/self/gid_map'
    assert_status 0
    assert_output_has "refused the UID map \`0 $(id -u) 1,1 .*\`: newuidmap: uid range .* not allowed; falling back to a single-ID map"
    assert_output_has "^ +0 +$(id -u) +1$"
    assert_output_has "^ +0 +$(id -g) +1$"
    [ "$(grep -c '^ *[0-9]' <<<"$output")" = 2 ]   # one line each: no leftover of the ranged gid map
}

@test "burrow unshare: UID 0 with the same map as containers; exit status passes through" {
    run burrow unshare sh -c 'id -u; cat /proc/self/uid_map'
    assert_status 0
    [ "${lines[0]}" = 0 ]
    unshare_map=$(sed 1d <<<"$output")
    run burrow run --rootfs "$ROOTFS" cat /proc/self/uid_map
    [ "$(echo $unshare_map)" = "$(echo $output)" ]
    run burrow unshare -- sh -c 'exit 7'
    assert_status 7
    run -127 burrow unshare no-such-command-here
    assert_status 127
    assert_output_has "cannot run \`no-such-command-here\`"
}

@test "burrow unshare removes what a container left owned by sub-IDs" {
    need_range
    [ "$(id -u)" != 0 ] || skip "root can remove anything anyway"
    host="$BATS_TEST_TMPDIR/sub"
    mkdir -p "$host"
    run burrow run --rootfs "$ROOTFS" -v "$host:/data" sh -c 'mkdir /data/d && touch /data/d/f && chown -R 1000:1000 /data/d && chmod 755 /data/d'
    assert_status 0
    ! rm -rf "$host/d" 2>/dev/null          # the host user cannot empty a sub-ID's directory
    [ -e "$host/d/f" ]
    run burrow unshare rm -rf "$host/d"
    assert_status 0
    [ ! -e "$host/d" ]
}

@test "--no-userns-holder: the helpers map every container; the same full range" {
    need_range
    [ "$(id -u)" != 0 ] || skip "root writes its maps itself"
    rr="$BATS_TEST_TMPDIR/rr"
    run burrow --no-userns-holder --runroot "$rr" run --rootfs "$ROOTFS" cat /proc/self/uid_map
    assert_status 0
    [ "$(echo $output)" = "0 $(id -u) 1 1 $(subid_range)" ]
    [ ! -e "$rr/userns-auto.pid" ]
}

@test "the user namespace holder: started once, reused, gone with its runroot" {
    need_range
    [ "$(id -u)" != 0 ] || skip "root writes its maps itself and needs no holder"
    rr="$BATS_TEST_TMPDIR/rrh"
    run burrow --runroot "$rr" run --rootfs "$ROOTFS" readlink /proc/self/ns/user
    assert_status 0
    first_ns=$output
    read -r pid ino <"$rr/userns-auto.pid"
    [ "$(cat /proc/$pid/comm)" = burrow-userns ]
    [ "$(readlink /proc/$pid/ns/user)" = "user:[$ino]" ]
    [ "$first_ns" = "user:[$ino]" ]          # the container runs in the holder's namespace
    [ "$(ls -l /proc/$pid/fd | grep -c -- '->')" -le 4 ]   # /dev/null x3 + inotify: no fd of ours
    run burrow --runroot "$rr" run --rootfs "$ROOTFS" readlink /proc/self/ns/user
    [ "$output" = "$first_ns" ]
    [ "$(cut -d' ' -f1 "$rr/userns-auto.pid")" = "$pid" ]
    rm -rf "$rr"
    for i in $(seq 50); do [ -d /proc/$pid ] || break; sleep 0.1; done
    [ ! -d /proc/$pid ]
}

@test "a dead holder is replaced" {
    need_range
    [ "$(id -u)" != 0 ] || skip "root writes its maps itself and needs no holder"
    rr="$BATS_TEST_TMPDIR/rrd"
    run burrow --runroot "$rr" run --rootfs "$ROOTFS" true
    read -r pid ino <"$rr/userns-auto.pid"
    kill -9 "$pid"
    for i in $(seq 50); do [ -d /proc/$pid ] || break; sleep 0.1; done
    run burrow --runroot "$rr" run --rootfs "$ROOTFS" cat /proc/self/uid_map
    assert_status 0
    [ "$(echo $output)" = "0 $(id -u) 1 1 $(subid_range)" ]
    [ "$(cut -d' ' -f1 "$rr/userns-auto.pid")" != "$pid" ]
}

# Root only: a private mount namespace puts test copies over /etc/subuid and /etc/subgid, so
# the system files are never touched.
@test "root suite: burrow-test removed from a copy of /etc/subuid runs with a single-ID map, warned once" {
    [ "$(id -u)" = 0 ] || skip "needs root to bind a test copy over /etc/subuid"
    id burrow-test >/dev/null 2>&1 || skip "no burrow-test user (made by the user suite)"
    dir=$(mktemp -d /tmp/burrow-subid-test.XXXXXX)
    chmod 755 "$dir"
    sed '/^burrow-test:/d' /etc/subuid >"$dir/subuid"
    sed '/^burrow-test:/d' /etc/subgid >"$dir/subgid"
    chown burrow-test "$dir"
    runuser -u burrow-test -- "$MAKE_ROOTFS" "$dir/rootfs" >/dev/null
    run unshare -m sh -c 'mount --bind "$1/subuid" /etc/subuid && mount --bind "$1/subgid" /etc/subgid &&
        for i in 1 2; do runuser -u burrow-test -- env -i PATH=/usr/bin:/bin HOME=/tmp "$2" --runroot "$1/rr" run --rootfs "$1/rootfs" cat /proc/self/uid_map; done' \
        sh "$dir" "$BURROW"
    rm -rf "$dir"
    assert_status 0
    [ "$(grep -c 'warning: using a single-ID map (no subordinate UID range for this user)' <<<"$output")" = 1 ]
    [ "$(grep -cE "^ +0 +$(id -u burrow-test) +1$" <<<"$output")" = 2 ]
}

@test "root suite: a malformed /etc/subuid line is named with file and line, and the rest still counts" {
    [ "$(id -u)" = 0 ] || skip "needs root to bind a test copy over /etc/subuid"
    id burrow-test >/dev/null 2>&1 || skip "no burrow-test user (made by the user suite)"
    dir=$(mktemp -d /tmp/burrow-subid-test.XXXXXX)
    chmod 755 "$dir"
    { echo "this is not an entry"; cat /etc/subuid; } >"$dir/subuid"
    cp /etc/subgid "$dir/subgid"
    run unshare -m sh -c 'mount --bind "$1/subuid" /etc/subuid && mount --bind "$1/subgid" /etc/subgid &&
        exec runuser -u burrow-test -- env -i PATH=/usr/bin:/bin HOME=/tmp "$2" info' sh "$dir" "$BURROW"
    rm -rf "$dir"
    assert_status 0
    assert_output_has "warning: /etc/subuid:1: ignoring malformed entry \`this is not an entry\` \(expected NAME:START:COUNT\)"
    start=$(grep '^burrow-test:' /etc/subuid | head -1 | cut -d: -f2)
    assert_output_has "^subordinate uids +$start-"
}
