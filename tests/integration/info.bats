#!/usr/bin/env bats
# burrow info: what the host supports, and how to fix the rest.

load helpers

setup() {
    common_setup
    ROOTFS_INFO="$BATS_FILE_TMPDIR/rootfs-info"
}
teardown() { common_teardown; }

@test "info reports the kernel, user namespaces and the ID mapping" {
    run burrow info
    assert_status 0
    assert_output_has "^kernel +Linux $(uname -r | sed 's/[.+]/\\&/g')"
    assert_output_has "^user namespaces +yes"
    if has_range; then
        assert_output_has "^ID mapping +subordinate-range \(uid_map \"0 $(id -u) 1,1 $(subid_range | tr ' ' ' ')\"\): 65537 UIDs"
    elif [ "$(id -u)" = 0 ]; then
        assert_output_has "^ID mapping +identity"
    else
        assert_output_has "^ID mapping +single-ID \(uid_map \"0 $(id -u) 1\"\): no subordinate UID range"
        assert_output_has "fix: as root: usermod --add-subuids"
    fi
}

@test "info shows this user's subordinate range, or the command that adds one" {
    run burrow info
    assert_status 0
    me=$(id -un)
    line=$(grep -E "^($me|$(id -u)):" /etc/subuid | head -1 || true)
    if [ -n "$line" ]; then
        start=$(cut -d: -f2 <<<"$line")
        count=$(cut -d: -f3 <<<"$line")
        assert_output_has "^subordinate uids +$start-$((start + count - 1)) \($count IDs\)"
    else
        assert_output_has "^subordinate uids +none for $me in /etc/subuid"
        assert_output_has "fix: as root: usermod --add-subuids 100000-165535 --add-subgids 100000-165535 $me"
    fi
}

@test "info probes /dev/fuse, kernel overlay, fuse-overlayfs, cgroups and /dev/net/tun" {
    run burrow info
    assert_status 0
    if [ -r /dev/fuse ] && [ -w /dev/fuse ]; then
        assert_output_has "^/dev/fuse +usable"
    else
        assert_output_has "^/dev/fuse +.*(missing|not usable)"
        assert_output_has "fix: "
    fi
    assert_output_has "^kernel overlay in userns +(yes|no)"
    assert_output_has "^fuse-overlayfs +(/.*fuse-overlayfs|missing)"
    assert_output_has "^cgroups +"
    assert_output_has "^/dev/net/tun +"
    assert_output_has "^runroot +/"
    assert_output_has "^userns holder +(running, uid_map|none running)"
}

@test "info shows the running userns holder with its map" {
    has_range && [ "$(id -u)" != 0 ] || skip "only a user with a subordinate range gets a holder"
    rr="$BATS_TEST_TMPDIR/rr"
    [ -d "$ROOTFS_INFO" ] || make_rootfs "$ROOTFS_INFO"
    run burrow --runroot "$rr" run --rootfs "$ROOTFS_INFO" true
    assert_status 0
    run burrow --runroot "$rr" info
    assert_output_has "^userns holder +running, uid_map \"0 $(id -u) 1,1 $(subid_range)\""
}

@test "info: /dev/net/tun is reported usable, or with its fix" {
    run burrow info
    assert_status 0
    if [ -r /dev/net/tun ] && [ -w /dev/net/tun ]; then
        assert_output_has "^/dev/net/tun +usable"
    else
        assert_output_has "fix: .*/dev/net/tun"
    fi
}
