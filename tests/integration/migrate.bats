#!/usr/bin/env bats
# The ID map a store's files are owned under: `burrow system migrate` once a user gets a
# subordinate range, and clear refusals once a range goes away. Changing /etc/subuid needs root:
# as root these tests make their own user and give and take its range with usermod.

bats_require_minimum_version 1.5.0
load helpers

MUSER=burrow-migrate
RANGE=400000-465535

setup_file() {
    [ "$(id -u)" = 0 ] || return 0
    # The user cannot read bats's private directories.
    SHARED=$(mktemp -d /tmp/burrow-migrate.XXXXXX)
    chmod 0755 "$SHARED"
    echo "$SHARED" >"$BATS_FILE_TMPDIR/shared"
    local w="$SHARED/tarwork"
    mkdir -p "$w/bin" "$w/d"
    cp /bin/busybox "$w/bin/"
    echo owned >"$w/d/f1000"
    tar -C "$w" --owner=0 --group=0 -cf "$SHARED/base.tar" bin
    tar -C "$w" --owner=1000 --group=1000 -rf "$SHARED/base.tar" d
    gzip "$SHARED/base.tar"
    chmod -R a+rX "$SHARED"
    id "$MUSER" >/dev/null 2>&1 && userdel -r -f "$MUSER" 2>/dev/null
    flock /tmp/burrow-test-useradd.lock \
        useradd --create-home --shell /bin/sh -K SUB_UID_COUNT=0 -K SUB_GID_COUNT=0 "$MUSER"
}

teardown_file() {
    [ "$(id -u)" = 0 ] || return 0
    pkill -9 -u "$MUSER" 2>/dev/null || true
    sleep 0.2
    userdel -r -f "$MUSER" 2>/dev/null || true
    rm -rf "$(cat "$BATS_FILE_TMPDIR/shared")"
}

setup() {
    [ "$(id -u)" = 0 ] || skip "changing /etc/subuid needs root (this suite runs as $(id -un))"
    common_setup
    home=$(getent passwd "$MUSER" | cut -d: -f6)
    STORE="$home/.local/share/burrow"
    muid=$(id -u "$MUSER")
    TARBALL="$(cat "$BATS_FILE_TMPDIR/shared")/base.tar.gz"
    diff_id=$(gzip -dc "$TARBALL" | sha256sum | cut -d' ' -f1)
}

teardown() {
    [ "$(id -u)" = 0 ] || return 0
    pkill -9 -u "$MUSER" 2>/dev/null || true   # its userns holder
    sleep 0.2
    rm -rf "$STORE" "/tmp/burrow-$muid"
    usermod --del-subuids "$RANGE" --del-subgids "$RANGE" "$MUSER" 2>/dev/null || true
    common_teardown
}

# burrow as the test user, with a clean environment.
as_user() {
    runuser -u "$MUSER" -- env -i HOME="$home" USER="$MUSER" PATH=/usr/sbin:/usr/bin:/sbin:/bin \
        ASAN_OPTIONS="${ASAN_OPTIONS:-}" UBSAN_OPTIONS="${UBSAN_OPTIONS:-}" "$BURROW" "$@"
}

give_range() {
    pkill -9 -u "$MUSER" 2>/dev/null || true   # usermod refuses a user with processes
    sleep 0.2
    usermod --add-subuids "$RANGE" --add-subgids "$RANGE" "$MUSER"
}

take_range() {
    pkill -9 -u "$MUSER" 2>/dev/null || true
    sleep 0.2
    usermod --del-subuids "$RANGE" --del-subgids "$RANGE" "$MUSER"
}

@test "system migrate: a store filled without a range gets the image's owners once the user has one" {
    run as_user import "$TARBALL" m:1
    assert_status 0
    [ "$(stat -c %u:%g "$STORE/layers/$diff_id/d/f1000")" = "$muid:$muid" ]   # collapsed to the user
    [ "$(jq -r .mapping "$STORE/store.json")" = single-ID ]
    give_range
    run as_user import "$TARBALL" m:2   # works, and says what to do
    assert_status 0
    assert_output_has 'run `burrow system migrate`'
    run as_user system migrate
    assert_status 0
    assert_output_has "^Migrated 1 layer of \`$STORE\` to the UID map \`0 $muid 1,1 400000 65536\`"
    [ "$(stat -c %u:%g "$STORE/layers/$diff_id/d/f1000")" = "400999:400999" ]
    [ "$(stat -c %u:%g "$STORE/layers/$diff_id/bin/busybox")" = "$muid:$muid" ]
    [ "$(cat "$STORE/layers/$diff_id/d/f1000")" = owned ]
    cmp "$STORE/layers/$diff_id/bin/busybox" /bin/busybox
    [ "$(jq -r .mapping "$STORE/store.json")" = subordinate-range ]
    [ -z "$(ls -A "$STORE/tmp")" ]
    run as_user import "$TARBALL" m:3   # no more warning
    assert_status 0
    [[ "$output" != *migrate* ]]
    run as_user system migrate
    assert_status 0
    assert_output_has "already uses your current ID map: nothing to migrate"
    run as_user images -q
    [ "${#lines[@]}" = 3 ]   # three imports, three images, one layer
    for n in m:1 m:2 m:3; do
        run as_user rmi "$n"
        assert_status 0
    done
    [ ! -e "$STORE/layers/$diff_id" ]
}

@test "system migrate without a range says how to get one" {
    run as_user import "$TARBALL" m:1
    assert_status 0
    run as_user system migrate
    assert_status 125
    assert_output_has "you still have no subordinate ID range"
    assert_output_has "usermod --add-subuids"
}

@test "a store whose range went away: commands refuse, say what to do, and remove nothing" {
    give_range
    run as_user import "$TARBALL" m:1
    assert_status 0
    [ "$(stat -c %u "$STORE/layers/$diff_id/d/f1000")" = 400999 ]
    take_range
    for cmd in "import $TARBALL m:2" "rmi m:1" "image prune" "run --rm m:1 /bin/busybox true" "system reset -f"; do
        # shellcheck disable=SC2086
        run as_user $cmd
        assert_status 125
        assert_output_has "holds files owned under the UID map \`0 $muid 1,1 400000 65536\`, but your map is now \`0 $muid 1\`"
        assert_output_has "Ask your administrator to restore the old range"
    done
    run as_user images
    assert_output_has "^localhost/m +1 "
    [ -f "$STORE/layers/$diff_id/d/f1000" ]
    [ -f "$STORE/store.json" ]
    give_range   # the range back: everything works again
    run as_user system reset -f
    assert_status 0
    [ ! -e "$STORE" ]
}

@test "a range that grew keeps the store: its map is updated, no warning" {
    give_range
    run as_user import "$TARBALL" m:1
    assert_status 0
    pkill -9 -u "$MUSER" 2>/dev/null || true
    sleep 0.2
    usermod --add-subuids 500000-565535 --add-subgids 500000-565535 "$MUSER"
    run as_user import "$TARBALL" m:2
    assert_status 0
    [[ "$output" != *migrate* ]]
    [ "$(jq -r .uid_map "$STORE/store.json")" = "$(printf '0 %s 1\n1 400000 65536\n65537 500000 65536' "$muid")" ]
    pkill -9 -u "$MUSER" 2>/dev/null || true
    sleep 0.2
    usermod --del-subuids 500000-565535 --del-subgids 500000-565535 "$MUSER"
}
