#!/usr/bin/env bats
# burrow load: OCI layouts built with umoci, docker-archive and oci-archive made by skopeo.

bats_require_minimum_version 1.5.0
load helpers

setup_file() {
    common_setup_file
    command -v umoci >/dev/null && command -v skopeo >/dev/null && command -v jq >/dev/null ||
        { export LOAD_SKIP="umoci, skopeo or jq missing (scripts/install-deps installs them)"; return 0; }
    export LAYOUT="$BATS_FILE_TMPDIR/oci"
    local w="$BATS_FILE_TMPDIR/build"
    mkdir -p "$w"
    # Layer 1: the busybox rootfs plus files the second layer deletes or hides.
    umoci init --layout "$LAYOUT"
    umoci new --image "$LAYOUT:img"
    umoci unpack --rootless --image "$LAYOUT:img" "$w/b" 2>/dev/null
    cp -a "$ROOTFS/." "$w/b/rootfs/"
    echo bye >"$w/b/rootfs/etc/gone"
    mkdir -p "$w/b/rootfs/opq"
    echo old >"$w/b/rootfs/opq/old"
    echo data >"$w/b/rootfs/hl1"
    ln "$w/b/rootfs/hl1" "$w/b/rootfs/hl2"
    umoci repack --image "$LAYOUT:img" "$w/b"
    # Layer 2 (a repack diffs against the bundle's base, so unpack again): a deletion (whiteout)
    # and a replaced directory.
    umoci unpack --rootless --image "$LAYOUT:img" "$w/b2" 2>/dev/null
    rm "$w/b2/rootfs/etc/gone"
    rm -rf "$w/b2/rootfs/opq"
    mkdir "$w/b2/rootfs/opq"
    echo new >"$w/b2/rootfs/opq/new"
    umoci repack --image "$LAYOUT:img" "$w/b2"
    umoci config --image "$LAYOUT:img" --config.cmd /bin/sh
    skopeo copy -q "oci:$LAYOUT:img" "docker-archive:$BATS_FILE_TMPDIR/d.tar:demo/busybox:v1"
    skopeo copy -q "oci:$LAYOUT:img" "oci-archive:$BATS_FILE_TMPDIR/o.tar:v2"
}
setup() {
    common_setup
    [ -z "${LOAD_SKIP:-}" ] || skip "$LOAD_SKIP"
    export STORE="$BATS_TEST_TMPDIR/store"
}
teardown() {
    [ -d "${STORE:-/nonexistent}" ] && "$BURROW" unshare rm -rf "$STORE" 2>/dev/null || true
    common_teardown
}

b() { "$BURROW" --root "$STORE" "$@"; }

config_digest() { # of the layout's image, as skopeo/umoci wrote it
    local m
    m=$(jq -r '.manifests[0].digest' "$LAYOUT/index.json")
    jq -r .config.digest "$LAYOUT/blobs/sha256/${m#sha256:}"
}

@test "load: an OCI layout, a docker-archive and an oci-archive give the same image ID" {
    want=$(config_digest)
    run b load -i "$LAYOUT"
    assert_status 0
    [ "$output" = "Loaded image: localhost/oci:img" ]
    run b load -i "$BATS_FILE_TMPDIR/d.tar"
    assert_status 0
    [ "$output" = "Loaded image: docker.io/demo/busybox:v1" ]
    run b load -i "$BATS_FILE_TMPDIR/o.tar"
    assert_status 0
    [ "$output" = "Loaded image: localhost/o:v2" ]
    run b images --format '{{.Repository}}:{{.Tag}} {{.ID}}'
    assert_output_has "^localhost/oci:img ${want#sha256:}$"
    assert_output_has "^docker.io/demo/busybox:v1 ${want#sha256:}$"
    assert_output_has "^localhost/o:v2 ${want#sha256:}$"
    [ "$(ls "$STORE/layers" | wc -l)" = 2 ]       # two layers, stored once for three loads
    run b inspect demo/busybox:v1
    assert_output_has '"/bin/sh"'
}

@test "load: whiteouts, opaque directories and hardlinks arrive in the driver-neutral form" {
    run b load -i "$LAYOUT"
    assert_status 0
    top=$(jq -r '.rootfs.diff_ids[1]' "$LAYOUT/blobs/sha256/$(config_digest | cut -d: -f2)")
    base=$(jq -r '.rootfs.diff_ids[0]' "$LAYOUT/blobs/sha256/$(config_digest | cut -d: -f2)")
    l2="$STORE/layers/${top#sha256:}"
    l1="$STORE/layers/${base#sha256:}"
    [ "$(stat -c '%F %t:%T' "$l2/etc/gone")" = "character special file 0:0" ]
    # a replaced directory: opaque (xattr), or a whiteout of each old entry
    if getfattr --version >/dev/null 2>&1 && getfattr -n user.overlay.opaque "$l2/opq" >/dev/null 2>&1; then
        [ "$(getfattr --only-values -n user.overlay.opaque "$l2/opq")" = y ]
    else
        [ "$(stat -c '%F' "$l2/opq/old")" = "character special file" ]
    fi
    [ "$(cat "$l2/opq/new")" = new ]
    [ "$(stat -c %i "$l1/hl1")" = "$(stat -c %i "$l1/hl2")" ]
}

@test "load twice: nothing new is unpacked" {
    run b load -i "$BATS_FILE_TMPDIR/o.tar"
    layers_before=$(ls -i "$STORE/layers")
    run b load -i "$BATS_FILE_TMPDIR/o.tar"
    assert_status 0
    [ "$(ls -i "$STORE/layers")" = "$layers_before" ]
}

@test "load: a corrupt layer blob is refused, naming it; nothing changes" {
    bad="$BATS_TEST_TMPDIR/bad"
    cp -a "$LAYOUT" "$bad"
    m=$(jq -r '.manifests[0].digest' "$bad/index.json")
    layer=$(jq -r '.layers[1].digest' "$bad/blobs/sha256/${m#sha256:}")
    f="$bad/blobs/sha256/${layer#sha256:}"
    chmod u+w "$f"
    # same length, other bytes: a valid gzip stream no more, or other content
    printf 'X' | dd of="$f" bs=1 seek=100 conv=notrunc 2>/dev/null
    run b load -i "$bad"
    assert_status 125
    assert_output_has "layer 2 \\($layer\\)"
    run b images -q
    [ -z "$output" ]
    [ -z "$(ls -A "$STORE/tmp")" ]
    run b load -i "$LAYOUT"                        # and the good one still loads
    assert_status 0
}

@test "load: a manifest naming a missing blob, and malformed JSON, are clear errors" {
    bad="$BATS_TEST_TMPDIR/bad"
    cp -a "$LAYOUT" "$bad"
    m=$(jq -r '.manifests[0].digest' "$bad/index.json")
    layer=$(jq -r '.layers[0].digest' "$bad/blobs/sha256/${m#sha256:}")
    rm -f "$bad/blobs/sha256/${layer#sha256:}"
    run b load -i "$bad"
    assert_status 125
    assert_output_has "missing member \`blobs/sha256/${layer#sha256:}\`"
    echo '{"manifests": [' >"$bad/index.json"
    run b load -i "$bad"
    assert_status 125
    assert_output_has "index.json is not valid JSON"
    run b load -i "$BATS_TEST_TMPDIR"
    assert_status 125
    assert_output_has "is neither a docker-archive"
    run b images -q
    [ -z "$output" ]
}

@test "load: a member reached through a symlink is refused" {
    bad="$BATS_TEST_TMPDIR/bad"
    cp -a "$LAYOUT" "$bad"
    m=$(jq -r '.manifests[0].digest' "$bad/index.json")
    rm -f "$bad/blobs/sha256/${m#sha256:}"
    ln -s /etc/passwd "$bad/blobs/sha256/${m#sha256:}"
    run b load -i "$bad"
    assert_status 125
    assert_output_has "reached through a symlink: refusing it"
}

@test "load: an image index gives the manifest for this machine" {
    multi="$BATS_TEST_TMPDIR/multi"
    cp -a "$LAYOUT" "$multi"
    m=$(jq -r '.manifests[0].digest' "$multi/index.json")
    msize=$(jq -r '.manifests[0].size' "$multi/index.json")
    # an "arm64" manifest: the same layers with another config
    cfg=$(jq -r .config.digest "$multi/blobs/sha256/${m#sha256:}")
    jq -c '.architecture = "arm64" | .config.Cmd = ["/bin/arm"]' "$multi/blobs/sha256/${cfg#sha256:}" >"$BATS_TEST_TMPDIR/c"
    c2=$(sha256sum <"$BATS_TEST_TMPDIR/c" | cut -d' ' -f1)
    cp "$BATS_TEST_TMPDIR/c" "$multi/blobs/sha256/$c2"
    jq -c --arg d "sha256:$c2" --argjson s "$(stat -c %s "$BATS_TEST_TMPDIR/c")" '.config.digest = $d | .config.size = $s' \
        "$multi/blobs/sha256/${m#sha256:}" >"$BATS_TEST_TMPDIR/m"
    m2=$(sha256sum <"$BATS_TEST_TMPDIR/m" | cut -d' ' -f1)
    cp "$BATS_TEST_TMPDIR/m" "$multi/blobs/sha256/$m2"
    arch=$(uname -m | sed 's/x86_64/amd64/; s/aarch64/arm64/')
    other=arm64; [ "$arch" = arm64 ] && other=amd64
    printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%s,"platform":{"os":"linux","architecture":"%s"}},{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"%s","size":%s,"platform":{"os":"linux","architecture":"%s"}}]}' \
        "$m2" "$(stat -c %s "$BATS_TEST_TMPDIR/m")" "$other" "$m" "$msize" "$arch" >"$BATS_TEST_TMPDIR/i"
    i=$(sha256sum <"$BATS_TEST_TMPDIR/i" | cut -d' ' -f1)
    cp "$BATS_TEST_TMPDIR/i" "$multi/blobs/sha256/$i"
    printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.index.v1+json","digest":"sha256:%s","size":%s,"annotations":{"org.opencontainers.image.ref.name":"multi"}}]}' \
        "$i" "$(stat -c %s "$BATS_TEST_TMPDIR/i")" >"$multi/index.json"
    run b load -i "$multi"
    assert_status 0
    run b images --format '{{.ID}}'
    [ "$output" = "$(config_digest | cut -d: -f2)" ]   # this machine's, not the other one
}

@test "save: docker-archive and oci-archive that skopeo reads and burrow loads back to the same ID" {
    want=$(config_digest)
    run b load -i "$LAYOUT"
    assert_status 0
    run b save -o "$BATS_TEST_TMPDIR/d.tar" localhost/oci:img
    assert_status 0
    run b save -o "$BATS_TEST_TMPDIR/o.tar" --format oci-archive localhost/oci:img
    assert_status 0
    [ "$(skopeo inspect --config "docker-archive:$BATS_TEST_TMPDIR/d.tar" | jq -r .architecture)" != null ]
    [ "$(skopeo inspect "oci-archive:$BATS_TEST_TMPDIR/o.tar" | jq -r .Layers[0])" != null ]
    other="$BATS_TEST_TMPDIR/other"
    run "$BURROW" --root "$other" load -i "$BATS_TEST_TMPDIR/d.tar"
    assert_status 0
    [ "$output" = "Loaded image: localhost/oci:img" ]
    run "$BURROW" --root "$other" load -i "$BATS_TEST_TMPDIR/o.tar"
    assert_status 0
    run "$BURROW" --root "$other" images --format '{{.ID}}'
    [ "$(sort -u <<<"$output")" = "${want#sha256:}" ]
    "$BURROW" unshare rm -rf "$other"
    run b save -o "$BATS_TEST_TMPDIR/x.tar" nothere
    assert_status 125
    assert_output_has "image \`nothere\` is not in the store"
    [ ! -e "$BATS_TEST_TMPDIR/x.tar" ]
}
