#!/usr/bin/env bats
# The image store: burrow import, images, tag, rmi, inspect, history, prune; safe unpacking.

bats_require_minimum_version 1.5.0
load helpers

setup_file() {
    common_setup_file
    # A tarball of the busybox rootfs, plus one file owned by 1000:1000 and a setuid file.
    local w="$BATS_FILE_TMPDIR/tarwork"
    mkdir -p "$w"
    echo owned >"$w/f1000"
    echo suid >"$w/suid"
    chmod 4755 "$w/suid"
    tar -C "$ROOTFS" --owner=0 --group=0 -cf "$BATS_FILE_TMPDIR/base.tar" .
    tar -C "$w" --owner=1000 --group=1000 -rf "$BATS_FILE_TMPDIR/base.tar" f1000
    tar -C "$w" --owner=0 --group=0 -rf "$BATS_FILE_TMPDIR/base.tar" suid
    gzip -c "$BATS_FILE_TMPDIR/base.tar" >"$BATS_FILE_TMPDIR/base.tar.gz"
    export TARBALL="$BATS_FILE_TMPDIR/base.tar.gz"
}
setup() {
    common_setup
    export STORE="$BATS_TEST_TMPDIR/store"
}
teardown() {
    # layers may hold files of subordinate IDs: remove them in the store's namespace
    [ -d "$STORE" ] && "$BURROW" unshare rm -rf "$STORE" 2>/dev/null || true
    common_teardown
}

b() { "$BURROW" --root "$STORE" "$@"; }

@test "import: a gzip rootfs tarball becomes a one-layer image with the right digests" {
    run b import "$TARBALL" busybox:1
    assert_status 0
    [[ "$output" =~ ^sha256:[0-9a-f]{64}$ ]]
    id=$output
    run b images
    assert_status 0
    assert_output_has "^localhost/busybox +1 +${id:7:12} "
    run b inspect busybox:1
    assert_status 0
    diff_id=sha256:$(gzip -dc "$TARBALL" | sha256sum | cut -d' ' -f1)
    blob=sha256:$(sha256sum "$TARBALL" | cut -d' ' -f1)
    assert_output_has "\"Id\": \"$id\""
    assert_output_has "\"$diff_id\""
    assert_output_has "\"$blob\""
    [ -d "$STORE/layers/${diff_id#sha256:}/bin" ]
    [ "$(sha256sum <"$STORE/blobs/sha256/${blob#sha256:}" | cut -d' ' -f1)" = "${blob#sha256:}" ]
    [ "$(sha256sum <"$STORE/blobs/sha256/${id#sha256:}" | cut -d' ' -f1)" = "${id#sha256:}" ]   # the ID is the config's digest
    run b history busybox:1
    assert_output_has "burrow import $TARBALL"
}

@test "import: owners map through the store's user namespace; setuid and contents kept" {
    run b import "$TARBALL" owners
    assert_status 0
    diff_id=$(gzip -dc "$TARBALL" | sha256sum | cut -d' ' -f1)
    layer="$STORE/layers/$diff_id"
    run "$BURROW" unshare cat /proc/self/uid_map
    map=$output
    if want=$(outside_id "$map" 1000); then
        [ "$(stat -c %u "$layer/f1000")" = "$want" ]
    else
        [ "$(stat -c %u "$layer/f1000")" = "$(id -u)" ]   # single-ID map: ownership collapses to the caller
    fi
    [ "$(stat -c %u "$layer/bin/busybox")" = "$(outside_id "$map" 0)" ]
    # the store records the map its files are owned under
    [ "$(jq -r .uid_map "$STORE/store.json" | head -1)" = "0 $(outside_id "$map" 0) $(echo "$map" | awk 'NR==1 {print $3}')" ]
    [ "$(stat -c %a "$layer/suid")" = 4755 ]
    [ "$(cat "$layer/f1000")" = owned ]
    cmp "$layer/bin/busybox" "$ROOTFS/bin/busybox"
}

@test "import twice: the layer and its blob are stored once" {
    run b import "$TARBALL" one
    run b import "$TARBALL" two
    assert_status 0
    [ "$(ls "$STORE/layers" | wc -l)" = 1 ]
    run b images -q
    [ "${#lines[@]}" = 2 ]                     # two images (created at two times), as docker import
}

@test "evil tarballs are refused with the entry named, and change nothing" {
    run b import "$TARBALL" good
    before=$(b images)
    w="$BATS_TEST_TMPDIR/evil"
    mkdir -p "$w/d/sub" "$w/s" "$w/h" "$w/p"
    echo x >"$w/d/x"
    (cd "$w/d/sub" && tar -cPf "$w/dotdot.tar" ../x)
    ln -s / "$w/s/a"
    echo y >"$w/s/f"
    (cd "$w/s" && tar -cf "$w/symlink.tar" a && tar -rf "$w/symlink.tar" --transform='s,^f$,a/etc/x,' f)
    echo z >"$w/h/one"
    ln "$w/h/one" "$w/h/two"
    (cd "$w/h" && tar -cPf "$w/hardlink.tar" --transform='s,^one$,/etc/shadow,RSh' one two)
    for t in dotdot symlink hardlink; do
        run b import "$w/$t.tar" "evil-$t"
        assert_status 125
        case $t in
            dotdot) assert_output_has "importing \`$w/dotdot.tar\`: entry \`../x\` has a \`..\` component: refusing it" ;;
            symlink) assert_output_has "entry \`a/etc/x\` would be written through a symlink that leaves the layer" ;;
            hardlink) assert_output_has "entry \`two\` is a hardlink to \`/etc/shadow\`, which is not a file of this layer" ;;
        esac
        [ "$(b images)" = "$before" ]
        [ -z "$(ls -A "$STORE/tmp")" ]
        [ "$(ls "$STORE/layers" | wc -l)" = 1 ]
    done
    [ ! -e "$w/x" ] && [ ! -e /etc/x ]
    run b import "$TARBALL" good2                 # the store still works
    assert_status 0
}

@test "an entry named /etc/passwd lands inside the layer; the host's file is untouched" {
    w="$BATS_TEST_TMPDIR/abs"
    mkdir -p "$w"
    echo "evil:x:0:0::/:/bin/sh" >"$w/f"
    (cd "$w" && tar -cPf "$w/abs.tar" --transform='s,^f$,/etc/passwd,' f)
    sum=$(sha256sum /etc/passwd)
    run b import "$w/abs.tar" abs
    assert_status 0
    diff_id=$(sha256sum <"$w/abs.tar" | cut -d' ' -f1)
    [ "$(cat "$STORE/layers/$diff_id/etc/passwd")" = "evil:x:0:0::/:/bin/sh" ]
    [ "$(sha256sum /etc/passwd)" = "$sum" ]
}

@test "a truncated gzip stream: a clear error, nothing stored" {
    size=$(stat -c %s "$TARBALL")
    head -c $((size / 2)) "$TARBALL" >"$BATS_TEST_TMPDIR/half.tar.gz"
    run b import "$BATS_TEST_TMPDIR/half.tar.gz" half
    assert_status 125
    assert_output_has "importing \`.*half.tar.gz\`: .*truncated"
    [ -z "$(ls -A "$STORE/layers")" ]
    [ -z "$(ls -A "$STORE/tmp")" ]
    run b images -q
    [ -z "$output" ]
}

@test "tag and rmi: names come and go; the last one takes layers and blobs with it" {
    run b import "$TARBALL" app:1
    id=${output#sha256:}
    run b tag app:1 other/app:2
    assert_status 0
    run b images --format '{{.Repository}}:{{.Tag}} {{.ID}}'
    assert_output_has "^localhost/app:1 $id$"
    assert_output_has "^localhost/other/app:2 $id$"
    run b rmi "${id:0:12}"
    assert_status 125
    assert_output_has "has 2 names; remove them one by one, or use -f"
    run b rmi app:1
    assert_status 0
    assert_output_has "^Untagged: localhost/app:1$"
    [ -n "$(ls -A "$STORE/layers")" ]
    run b rmi other/app:2
    assert_status 0
    assert_output_has "^Deleted: sha256:$id$"
    [ -z "$(ls -A "$STORE/layers")" ]             # sub-ID owned files removed too
    [ -z "$(ls -A "$STORE/blobs/sha256")" ]
    run b rmi nothere
    assert_status 125
    assert_output_has "image \`nothere\` is not in the store"
}

@test "images: -q, --filter reference= and dangling=" {
    run b import "$TARBALL" alpha:1
    run b import "$TARBALL" beta:1
    run b images --filter 'reference=*alpha*' --format '{{.Repository}}'
    [ "$output" = localhost/alpha ]
    run b images --filter 'reference=beta:*' --format '{{.Repository}}'
    [ "$output" = localhost/beta ]
    run b images --filter dangling=true -q
    [ -z "$output" ]
    run b import "$TARBALL" alpha:1                # takes the name: the old image dangles
    run b images --filter dangling=true --format '{{.Repository}}:{{.Tag}}'
    [ "$output" = "<none>:<none>" ]
    run b images --filter bogus=1
    assert_status 125
    assert_output_has "unknown filter \`bogus=1\`"
    run b image prune
    assert_status 0
}

@test "two imports at once both succeed; one copy of the layer" {
    b import "$TARBALL" par:1 >"$BATS_TEST_TMPDIR/1" 2>&1 &
    p1=$!
    b import "$TARBALL" par:2 >"$BATS_TEST_TMPDIR/2" 2>&1 &
    p2=$!
    wait $p1
    wait $p2
    run b images --format '{{.Repository}}:{{.Tag}}'
    assert_output_has "^localhost/par:1$"
    assert_output_has "^localhost/par:2$"
    [ "$(ls "$STORE/layers" | wc -l)" = 1 ]
    [ -z "$(ls -A "$STORE/tmp")" ]
}

@test "kill -9 in the middle of an import: the next command finds a consistent store" {
    big="$BATS_TEST_TMPDIR/big.tar"
    mkdir -p "$BATS_TEST_TMPDIR/bigdir"
    for i in $(seq 40); do head -c 1000000 /dev/urandom >"$BATS_TEST_TMPDIR/bigdir/f$i"; done
    tar -C "$BATS_TEST_TMPDIR/bigdir" -cf "$big" .
    for delay in 0.05 0.2; do
        b import "$big" killed &
        pid=$!
        sleep $delay
        kill -9 $pid 2>/dev/null || true
        wait $pid 2>/dev/null || true
        run b images --format '{{.Repository}}'
        assert_status 0
        ! grep -vE '^(localhost/killed|<none>)$' <<<"$output"   # nothing half-made: only whole images
    done
    sleep 0.3                                      # the killed imports' workers die with them
    run b import "$big" big
    assert_status 0
    run b image prune                              # a worker in the store's namespace sweeps tmp/
    [ -z "$(ls -A "$STORE/tmp")" ]                # the killed runs' leftovers are gone
    diff_id=$(sha256sum <"$big" | cut -d' ' -f1)
    [ -f "$STORE/layers/$diff_id/f40" ]
}

@test "usage errors name the verb" {
    run b import only-one-arg
    assert_status 125
    assert_output_has "\`burrow import\` takes two arguments"
    run b import /nonexistent.tar x
    assert_status 125
    assert_output_has "cannot open \`/nonexistent.tar\` to import"
    run b import "$TARBALL" 'Bad:Name'
    assert_status 125
    assert_output_has "not a valid name component"
    run b image frob
    assert_status 125
    assert_output_has "unknown command \`image frob\`"
}

@test "system reset: removes the whole store, sub-ID files included; asks unless -f; never a non-store" {
    rr="$BATS_TEST_TMPDIR/rr"
    run "$BURROW" --runroot "$rr" --root "$STORE" import "$TARBALL" r:1
    assert_status 0
    run "$BURROW" --runroot "$rr" --root "$STORE" system reset </dev/null
    assert_status 125
    assert_output_has "add -f to do it without a question"
    [ -d "$STORE/layers" ]
    run "$BURROW" --runroot "$rr" --root "$STORE" system reset -f
    assert_status 0
    [ ! -e "$STORE" ]
    [ ! -e "$rr/userns-auto.pid" ]
    mkdir -p "$BATS_TEST_TMPDIR/precious"
    touch "$BATS_TEST_TMPDIR/precious/file"
    run "$BURROW" --root "$BATS_TEST_TMPDIR/precious" system reset -f
    assert_status 125
    assert_output_has "does not look like a burrow store"
    [ -f "$BATS_TEST_TMPDIR/precious/file" ]
}

@test "import with --no-userns-holder: the same owners, mapped by the helpers from outside" {
    run "$BURROW" --no-userns-holder --root "$STORE" import "$TARBALL" nh:1
    assert_status 0
    diff_id=$(gzip -dc "$TARBALL" | sha256sum | cut -d' ' -f1)
    run "$BURROW" unshare cat /proc/self/uid_map
    map=$output
    if want=$(outside_id "$map" 1000); then
        [ "$(stat -c %u "$STORE/layers/$diff_id/f1000")" = "$want" ]
    else
        [ "$(stat -c %u "$STORE/layers/$diff_id/f1000")" = "$(id -u)" ]
    fi
}

@test "system migrate on a store that already uses the caller's map changes nothing" {
    run b import "$TARBALL" mig:1
    assert_status 0
    before=$(cat "$STORE/store.json")
    run b system migrate
    if [ "$(jq -r .mapping "$STORE/store.json")" = single-ID ]; then
        assert_status 125   # no range to migrate to
        assert_output_has "you still have no subordinate ID range"
    else
        assert_status 0
        assert_output_has "already uses your current ID map: nothing to migrate"
    fi
    [ "$(cat "$STORE/store.json")" = "$before" ]
}

@test "burrow.json moves the store (BURROW_CONFIG or ~/.config/burrow); --root wins; a bad file is named" {
    cfgstore="$BATS_TEST_TMPDIR/cfgstore-$(id -un)"
    cfg="$BATS_TEST_TMPDIR/burrow.json"
    # shellcheck disable=SC2016
    printf '{"root": "%s/cfgstore-$USER"}\n' "$BATS_TEST_TMPDIR" >"$cfg"
    BURROW_CONFIG=$cfg run "$BURROW" import "$TARBALL" cfg:1
    assert_status 0
    [ -f "$cfgstore/store.json" ]
    BURROW_CONFIG=$cfg run "$BURROW" images
    assert_output_has "^localhost/cfg +1 "
    BURROW_CONFIG=$cfg run "$BURROW" info
    assert_output_has "^store +$cfgstore$"
    BURROW_CONFIG=$cfg run "$BURROW" --root "$STORE" images -q
    [ -z "$output" ]
    # the user's own file, under XDG_CONFIG_HOME
    mkdir -p "$BATS_TEST_TMPDIR/xdg/burrow"
    cp "$cfg" "$BATS_TEST_TMPDIR/xdg/burrow/burrow.json"
    XDG_CONFIG_HOME="$BATS_TEST_TMPDIR/xdg" run "$BURROW" images
    assert_output_has "^localhost/cfg +1 "
    echo '{"root": "relative"}' >"$cfg"
    BURROW_CONFIG=$cfg run "$BURROW" images
    assert_status 125
    assert_output_has "\`$cfg\`: \"root\" must be an absolute path"
    "$BURROW" unshare rm -rf "$cfgstore"
}
