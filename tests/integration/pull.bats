#!/usr/bin/env bats
# burrow pull from Debian's docker-registry, started here on 127.0.0.1, plain HTTP and TLS.

bats_require_minimum_version 1.5.0
load helpers

start_registry() { # $1: dir, $2: extra config lines (tls: under http:, or auth:); prints the port
    local dir=$1 tls=${2:-} port i scheme=http
    for i in $(seq 20); do
        port=$((20000 + RANDOM % 20000))
        mkdir -p "$dir/data"
        printf 'version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: %s/data\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:%s\n%s' \
            "$dir" "$port" "$tls" >"$dir/config.yml"
        # 3>&-: bats reads its TAP output from fd 3 until every holder closes it
        docker-registry serve "$dir/config.yml" >"$dir/log" 2>&1 3>&- &
        echo $! >"$dir/pid"
        echo $! >>"${BATS_TEST_TMPDIR:-$BATS_FILE_TMPDIR}/registry-pids"
        for _ in $(seq 50); do
            [[ "$tls" == *"tls:"* ]] && scheme=https
            if curl -sk -o /dev/null "$scheme://127.0.0.1:$port/v2/"; then
                echo "$port"
                return 0
            fi
            kill -0 "$(cat "$dir/pid")" 2>/dev/null || break
            sleep 0.1
        done
        kill "$(cat "$dir/pid")" 2>/dev/null || true
    done
    return 1
}

setup_file() {
    common_setup_file
    for t in docker-registry skopeo umoci jq curl openssl; do
        command -v $t >/dev/null || { export PULL_SKIP="$t is missing (scripts/install-deps installs it)"; return 0; }
    done
    export REG="$BATS_FILE_TMPDIR/reg"
    PORT=$(start_registry "$REG") || { export PULL_SKIP="docker-registry did not start: $(cat "$REG/log")"; return 0; }
    export PORT
    local L="$BATS_FILE_TMPDIR/oci" w="$BATS_FILE_TMPDIR/build"
    mkdir -p "$w"
    umoci init --layout "$L"
    umoci new --image "$L:base"
    umoci unpack --rootless --image "$L:base" "$w/b" 2>/dev/null
    cp -a "$ROOTFS/." "$w/b/rootfs/"
    echo data >"$w/b/rootfs/hl1"
    ln "$w/b/rootfs/hl1" "$w/b/rootfs/hl2"
    ln -s /bin/busybox "$w/b/rootfs/link"
    echo script >"$w/b/rootfs/x.sh"
    chmod 0750 "$w/b/rootfs/x.sh"
    umoci repack --image "$L:base" "$w/b"
    umoci config --image "$L:base" --config.cmd /bin/sh
    export SOURCE_ROOTFS="$w/b/rootfs"
    skopeo copy -q --dest-tls-verify=false "oci:$L:base" "docker://127.0.0.1:$PORT/t/busybox:1"
    # a second image on top of the first: it shares the base layer
    umoci unpack --rootless --image "$L:base" "$w/b3" 2>/dev/null
    echo top >"$w/b3/rootfs/top"
    umoci repack --image "$L:top" "$w/b3"
    skopeo copy -q --dest-tls-verify=false "oci:$L:top" "docker://127.0.0.1:$PORT/t/top:1"
    skopeo copy -q "oci:$L:base" "docker-archive:$BATS_FILE_TMPDIR/d.tar:t/busybox:1"
    export LAYOUT=$L
}
teardown_file() {
    [ -f "$BATS_FILE_TMPDIR/registry-pids" ] && xargs kill <"$BATS_FILE_TMPDIR/registry-pids" 2>/dev/null || true
}
setup() {
    common_setup
    [ -z "${PULL_SKIP:-}" ] || skip "$PULL_SKIP"
    export STORE="$BATS_TEST_TMPDIR/store"
}
teardown() {
    # registries and proxies a failed test left running
    [ -f "$BATS_TEST_TMPDIR/registry-pids" ] && xargs kill <"$BATS_TEST_TMPDIR/registry-pids" 2>/dev/null || true
    [ -f "$BATS_TEST_TMPDIR/proxy-pids" ] && xargs kill <"$BATS_TEST_TMPDIR/proxy-pids" 2>/dev/null || true
    [ -d "${STORE:-/nonexistent}" ] && "$BURROW" unshare rm -rf "$STORE" 2>/dev/null || true
    common_teardown
}

b() { "$BURROW" --root "$STORE" "$@"; }

@test "pull: the unpacked tree matches the source; a second pull fetches nothing" {
    run b pull "127.0.0.1:$PORT/t/busybox:1"
    assert_status 0
    assert_output_has "1 of 1 layers fetched"
    id=${lines[-1]}
    [[ "$id" =~ ^sha256:[0-9a-f]{64}$ ]]
    layer=$(ls "$STORE/layers")
    l="$STORE/layers/$layer"
    cmp "$l/bin/busybox" "$SOURCE_ROOTFS/bin/busybox"
    [ "$(readlink "$l/link")" = /bin/busybox ]
    [ "$(stat -c %i "$l/hl1")" = "$(stat -c %i "$l/hl2")" ]
    [ "$(stat -c %a "$l/x.sh")" = 750 ]
    [ "$(cat "$l/x.sh")" = script ]
    run b images --format '{{.Repository}}:{{.Tag}} {{.ID}}'
    [ "$output" = "127.0.0.1:$PORT/t/busybox:1 ${id#sha256:}" ]
    run b pull "127.0.0.1:$PORT/t/busybox:1"
    assert_status 0
    assert_output_has "0 of 1 layers fetched"
}

@test "pull and load of the same image give the same image ID" {
    run b pull -q "127.0.0.1:$PORT/t/busybox:1"
    assert_status 0
    pulled=$output
    run b load -i "$BATS_FILE_TMPDIR/d.tar"
    assert_status 0
    run b images --format '{{.ID}}' --filter 'reference=docker.io/*'
    [ "sha256:$output" = "$pulled" ]
}

@test "two images sharing a base layer store it once" {
    run b pull -q "127.0.0.1:$PORT/t/busybox:1"
    assert_status 0
    run b pull "127.0.0.1:$PORT/t/top:1"
    assert_status 0
    n_top=$(jq -r '.manifests[] | select(.annotations."org.opencontainers.image.ref.name" == "top") | .digest' "$LAYOUT/index.json")
    layers_top=$(jq '.layers | length' "$LAYOUT/blobs/sha256/${n_top#sha256:}")
    [ "$(ls "$STORE/layers" | wc -l)" = "$layers_top" ]
    assert_output_has "$((layers_top - 1)) of $layers_top layers fetched"
}

@test "a blob whose bytes do not match its digest is refused; the store is unchanged and a good pull works" {
    bad="$BATS_TEST_TMPDIR/badreg"
    port=$(start_registry "$bad")
    skopeo copy -q --dest-tls-verify=false "oci:$LAYOUT:base" "docker://127.0.0.1:$port/t/busybox:1"
    m=$(jq -r '.manifests[] | select(.annotations."org.opencontainers.image.ref.name" == "base") | .digest' "$LAYOUT/index.json")
    layer=$(jq -r '.layers[0].digest' "$LAYOUT/blobs/sha256/${m#sha256:}")
    data="$bad/data/docker/registry/v2/blobs/sha256/${layer:7:2}/${layer#sha256:}/data"
    [ -f "$data" ]
    printf 'XXXX' | dd of="$data" bs=1 seek=200 conv=notrunc 2>/dev/null
    run b pull "127.0.0.1:$port/t/busybox:1"
    kill "$(cat "$bad/pid")"
    assert_status 125
    assert_output_has "layer $layer|$layer"
    run b images -q
    [ -z "$output" ]
    [ -z "$(ls -A "$STORE/layers")" ]
    [ -z "$(ls -A "$STORE/tmp")" ]
    run b pull "127.0.0.1:$PORT/t/busybox:1"
    assert_status 0
}

@test "a manifest that names a missing blob, and an unknown image, are clear errors" {
    bad="$BATS_TEST_TMPDIR/badreg2"
    port=$(start_registry "$bad")
    skopeo copy -q --dest-tls-verify=false "oci:$LAYOUT:base" "docker://127.0.0.1:$port/t/busybox:1"
    m=$(jq -r '.manifests[] | select(.annotations."org.opencontainers.image.ref.name" == "base") | .digest' "$LAYOUT/index.json")
    layer=$(jq -r '.layers[0].digest' "$LAYOUT/blobs/sha256/${m#sha256:}")
    rm -rf "$bad/data/docker/registry/v2/blobs/sha256/${layer:7:2}/${layer#sha256:}"
    run b pull "127.0.0.1:$port/t/busybox:1"
    assert_status 125
    assert_output_has "layer $layer of 127.0.0.1:$port/t/busybox: download failed"
    run b pull "127.0.0.1:$port/t/nothere:1"
    kill "$(cat "$bad/pid")"
    assert_status 125
    assert_output_has "t/nothere:1: no such image in the registry"
    run b images -q
    [ -z "$output" ]
}

@test "TLS: an untrusted certificate is refused; --cert-dir, certs.d and --tls-verify=false work" {
    tls="$BATS_FILE_TMPDIR/tls"
    mkdir -p "$tls"
    openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=burrow-test-ca -keyout "$tls/ca.key" -out "$tls/ca.crt" 2>/dev/null
    openssl req -newkey rsa:2048 -nodes -subj /CN=127.0.0.1 -keyout "$tls/reg.key" -out "$tls/reg.csr" 2>/dev/null
    printf 'subjectAltName=IP:127.0.0.1\n' >"$tls/ext"
    openssl x509 -req -in "$tls/reg.csr" -CA "$tls/ca.crt" -CAkey "$tls/ca.key" -CAcreateserial -days 2 -extfile "$tls/ext" \
        -out "$tls/reg.crt" 2>/dev/null
    port=$(start_registry "$tls" "$(printf '  tls:\n    certificate: %s\n    key: %s\n' "$tls/reg.crt" "$tls/reg.key")")
    skopeo copy -q --dest-cert-dir "$tls/none" --dest-tls-verify=false "oci:$LAYOUT:base" "docker://127.0.0.1:$port/t/busybox:1"
    # loopback registries are insecure by default (as with docker): force verification here
    run b pull --tls-verify=true "127.0.0.1:$port/t/busybox:1"
    assert_status 125
    assert_output_has "the TLS certificate is not trusted"
    mkdir -p "$BATS_TEST_TMPDIR/certs/127.0.0.1:$port"
    cp "$tls/ca.crt" "$BATS_TEST_TMPDIR/certs/127.0.0.1:$port/ca.crt"
    run b pull --tls-verify=true --cert-dir "$BATS_TEST_TMPDIR/certs" "127.0.0.1:$port/t/busybox:1"
    assert_status 0
    mkdir -p "$HOME/.config/burrow/certs.d/127.0.0.1:$port"
    cp "$tls/ca.crt" "$HOME/.config/burrow/certs.d/127.0.0.1:$port/ca.crt"
    run b pull -q --tls-verify=true "127.0.0.1:$port/t/busybox:1"
    rm -rf "$HOME/.config/burrow/certs.d/127.0.0.1:$port"
    assert_status 0
    run b pull -q --tls-verify=false "127.0.0.1:$port/t/busybox:1"
    assert_status 0
}

@test "an image index: this machine's image by default, another with --platform" {
    multi="$BATS_TEST_TMPDIR/multi"
    cp -a "$LAYOUT" "$multi"
    m=$(jq -r '.manifests[] | select(.annotations."org.opencontainers.image.ref.name" == "base") | .digest' "$multi/index.json")
    msize=$(stat -c %s "$multi/blobs/sha256/${m#sha256:}")
    cfg=$(jq -r .config.digest "$multi/blobs/sha256/${m#sha256:}")
    jq -c '.architecture = "riscv64"' "$multi/blobs/sha256/${cfg#sha256:}" >"$BATS_TEST_TMPDIR/c"
    c2=$(sha256sum <"$BATS_TEST_TMPDIR/c" | cut -d' ' -f1)
    cp "$BATS_TEST_TMPDIR/c" "$multi/blobs/sha256/$c2"
    jq -c --arg d "sha256:$c2" --argjson s "$(stat -c %s "$BATS_TEST_TMPDIR/c")" '.config.digest = $d | .config.size = $s' \
        "$multi/blobs/sha256/${m#sha256:}" >"$BATS_TEST_TMPDIR/m"
    m2=$(sha256sum <"$BATS_TEST_TMPDIR/m" | cut -d' ' -f1)
    cp "$BATS_TEST_TMPDIR/m" "$multi/blobs/sha256/$m2"
    arch=$(uname -m | sed 's/x86_64/amd64/; s/aarch64/arm64/')
    printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%s,"platform":{"os":"linux","architecture":"riscv64"}},{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"%s","size":%s,"platform":{"os":"linux","architecture":"%s"}}]}' \
        "$m2" "$(stat -c %s "$BATS_TEST_TMPDIR/m")" "$m" "$msize" "$arch" >"$BATS_TEST_TMPDIR/i"
    i=$(sha256sum <"$BATS_TEST_TMPDIR/i" | cut -d' ' -f1)
    cp "$BATS_TEST_TMPDIR/i" "$multi/blobs/sha256/$i"
    printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.index.v1+json","digest":"sha256:%s","size":%s,"annotations":{"org.opencontainers.image.ref.name":"multi"}}]}' \
        "$i" "$(stat -c %s "$BATS_TEST_TMPDIR/i")" >"$multi/index.json"
    skopeo copy -q --all --dest-tls-verify=false "oci:$multi:multi" "docker://127.0.0.1:$PORT/t/multi:1"
    run b pull -q "127.0.0.1:$PORT/t/multi:1"
    assert_status 0
    [ "$output" = "$cfg" ]
    run b pull -q --platform linux/riscv64 "127.0.0.1:$PORT/t/multi:1"
    assert_status 0
    [ "$output" = "sha256:$c2" ]
    run b pull --platform linux/s390x "127.0.0.1:$PORT/t/multi:1"
    assert_status 125
    assert_output_has "has no image for linux/s390x"
}

@test "a registry that drops the connection mid-layer: the pull resumes; one that always does: a clear error" {
    [ -x "${DROPPROXY:-}" ] || skip "the dropproxy test helper was not built (make check builds it)"
    "$DROPPROXY" "$PORT" 100000 1 >"$BATS_TEST_TMPDIR/p1" 3>&- &
    p1=$!
    echo $p1 >>"$BATS_TEST_TMPDIR/proxy-pids"
    for _ in $(seq 50); do [ -s "$BATS_TEST_TMPDIR/p1" ] && break; sleep 0.1; done
    once=$(cat "$BATS_TEST_TMPDIR/p1")
    run b --log-level=info pull "127.0.0.1:$once/t/busybox:1"
    kill $p1
    assert_status 0
    assert_output_has "layer sha256:[0-9a-f]{64}: .* after [0-9]+ bytes, resuming"   # (the cut counts the HTTP headers too)
    l="$STORE/layers/$(ls "$STORE/layers")"
    cmp "$l/bin/busybox" "$SOURCE_ROOTFS/bin/busybox"
    "$BURROW" unshare rm -rf "$STORE"
    "$DROPPROXY" "$PORT" 100000 -1 >"$BATS_TEST_TMPDIR/p2" 3>&- &
    p2=$!
    echo $p2 >>"$BATS_TEST_TMPDIR/proxy-pids"
    for _ in $(seq 50); do [ -s "$BATS_TEST_TMPDIR/p2" ] && break; sleep 0.1; done
    always=$(cat "$BATS_TEST_TMPDIR/p2")
    run b pull "127.0.0.1:$always/t/busybox:1"
    kill $p2
    assert_status 125
    assert_output_has "download failed: "
    run b images -q
    [ -z "$output" ]
    [ -z "$(ls -A "$STORE/tmp")" ]
}

@test "kill -9 in the middle of a pull: the next pull completes" {
    for delay in 0.02 0.1 "0.$((RANDOM % 3))$((RANDOM % 10))" "0.$((RANDOM % 10))"; do
        b pull -q "127.0.0.1:$PORT/t/top:1" >/dev/null 2>&1 &
        pid=$!
        sleep $delay
        kill -9 $pid 2>/dev/null || true
        wait $pid 2>/dev/null || true
        run b images --format '{{.Repository}}'
        assert_status 0
        ! grep -vE "^(127.0.0.1:$PORT/t/top|<none>)$" <<<"$output"
    done
    sleep 0.3                                      # the killed pull's workers die with it
    run b pull "127.0.0.1:$PORT/t/top:1"
    assert_status 0
    run b images --format '{{.Repository}}:{{.Tag}}'
    assert_output_has "^127.0.0.1:$PORT/t/top:1$"
    # leftovers of the killed pulls are invisible, and gone after the next worker (prune runs one)
    run b image prune
    [ -z "$(ls -A "$STORE/tmp")" ]
    ls "$STORE"/layers/*/bin/busybox >/dev/null
}

@test "login/logout: a registry that wants a password; credentials kept in REGISTRY_AUTH_FILE" {
    command -v htpasswd >/dev/null || skip "htpasswd missing (apache2-utils; scripts/install-deps installs it)"
    auth="$BATS_TEST_TMPDIR/authreg"
    mkdir -p "$auth"
    htpasswd -Bbn alice s3cret >"$auth/htpasswd"
    port=$(start_registry "$auth" "$(printf '%s\n' 'auth:' '  htpasswd:' '    realm: burrow-test' "    path: $auth/htpasswd")")
    skopeo copy -q --dest-tls-verify=false --dest-creds alice:s3cret "oci:$LAYOUT:base" "docker://127.0.0.1:$port/t/private:1"
    export REGISTRY_AUTH_FILE="$BATS_TEST_TMPDIR/auth.json"
    run b pull "127.0.0.1:$port/t/private:1"
    assert_status 125
    assert_output_has "wants a user name and password: run \`burrow login 127.0.0.1:$port\`"
    run b login -u alice -p wrong "127.0.0.1:$port"
    assert_status 125
    assert_output_has "wrong user name or password"
    [ ! -e "$REGISTRY_AUTH_FILE" ]
    run bash -c 'echo s3cret | "$BURROW" login -u alice --password-stdin "127.0.0.1:'"$port"'"'
    assert_status 0
    [ "$(stat -c %a "$REGISTRY_AUTH_FILE")" = 600 ]
    [ "$(jq -r ".auths[\"127.0.0.1:$port\"].auth" "$REGISTRY_AUTH_FILE" | base64 -d)" = alice:s3cret ]
    run b pull -q "127.0.0.1:$port/t/private:1"
    assert_status 0
    run b logout "127.0.0.1:$port"
    assert_status 0
    "$BURROW" unshare rm -rf "$STORE"
    run b pull "127.0.0.1:$port/t/private:1"
    kill "$(cat "$auth/pid")"
    assert_status 125
}

@test "push: the image goes up as stored (same manifest digest) and pulls back to the same ID" {
    run b load -i "$BATS_FILE_TMPDIR/d.tar"
    assert_status 0
    run b push -q docker.io/t/busybox:1 "127.0.0.1:$PORT/pushed/busybox:9"
    assert_status 0
    pushed=$output
    [ "$(skopeo inspect --tls-verify=false "docker://127.0.0.1:$PORT/pushed/busybox:9" | jq -r .Digest)" = "$pushed" ]
    id=$(b images -q --filter 'reference=docker.io/*')
    other="$BATS_TEST_TMPDIR/other"
    run "$BURROW" --root "$other" pull -q "127.0.0.1:$PORT/pushed/busybox:9"
    assert_status 0
    [ "${output#sha256:}" = "$(echo "$id" | cut -c1-12)$(echo "${output#sha256:}" | cut -c13-)" ]
    "$BURROW" unshare rm -rf "$other"
    run b push nothere "127.0.0.1:$PORT/x:1"
    assert_status 125
    assert_output_has "image \`nothere\` is not in the store"
}

# A port nothing listens on.
dead_port() {
    local p
    for _ in $(seq 50); do
        p=$((20000 + RANDOM % 20000))
        curl -s -o /dev/null "http://127.0.0.1:$p/" 2>/dev/null || { echo "$p"; return 0; }
    done
    return 1
}

@test "mirrors in registries.json: tried first, in order, with a path prefix; the registry itself last" {
    mdir="$BATS_TEST_TMPDIR/mirror"
    mport=$(start_registry "$mdir")
    skopeo copy -q --dest-tls-verify=false "oci:$LAYOUT:base" "docker://127.0.0.1:$mport/hub/t/busybox:1"
    dead=$(dead_port)
    dead2=$(dead_port)
    export XDG_CONFIG_HOME="$BATS_TEST_TMPDIR/cfg"
    mkdir -p "$XDG_CONFIG_HOME/burrow"
    cfg="$XDG_CONFIG_HOME/burrow/registries.json"

    # A registry that is down, with a dead mirror and a good one (under a path prefix).
    printf '{"mirrors": {"127.0.0.1:%s": ["127.0.0.1:%s", {"location": "127.0.0.1:%s/hub", "insecure": true}]}}\n' \
        "$dead" "$dead2" "$mport" >"$cfg"
    run b pull "127.0.0.1:$dead/t/busybox:1"
    assert_status 0
    assert_output_has "from the mirror 127.0.0.1:$mport/hub/t/busybox"
    id=${lines[-1]}
    run b images --format '{{.Repository}}:{{.Tag}} {{.ID}}'
    [ "$output" = "127.0.0.1:$dead/t/busybox:1 ${id#sha256:}" ]   # the name asked for, not the mirror's
    run b pull -q "127.0.0.1:$PORT/t/busybox:1"
    [ "$output" = "$id" ]   # the same image as from the registry

    # A key with a repository prefix; the registry itself answers when its mirror is down.
    printf '{"mirrors": {"127.0.0.1:%s/t": ["127.0.0.1:%s/nothing"]}}\n' "$PORT" "$dead" >"$cfg"
    run b pull "127.0.0.1:$PORT/t/top:1"
    assert_status 0
    [[ "$output" != *"from the mirror"* ]]

    # digest_only: a pull by tag skips the mirror, a pull by digest uses it.
    printf '{"mirrors": {"127.0.0.1:%s": [{"location": "127.0.0.1:%s/hub", "digest_only": true}]}}\n' "$dead" "$mport" >"$cfg"
    run b pull "127.0.0.1:$dead/t/busybox:1"
    assert_status 125
    assert_output_has "127.0.0.1:$dead"
    [[ "$output" != *"mirrors failed first"* ]]
    digest=$(skopeo inspect --tls-verify=false "docker://127.0.0.1:$mport/hub/t/busybox:1" | jq -r .Digest)
    run b pull "127.0.0.1:$dead/t/busybox@$digest"
    assert_status 0
    assert_output_has "from the mirror"

    # Everything down: one error that names the registry and what each mirror said.
    printf '{"mirrors": {"127.0.0.1:%s": ["127.0.0.1:%s/hub"]}}\n' "$dead" "$mport" >"$cfg"
    run b pull "127.0.0.1:$dead/t/missing:1"
    assert_status 125
    assert_output_has "127.0.0.1:$dead"
    assert_output_has "the mirrors failed first: 127.0.0.1:$mport/hub/t/missing:1: no such image"

    # A broken file is named, and pulls go on without it.
    echo '{"mirrors": ' >"$cfg"
    run b pull -q "127.0.0.1:$PORT/t/busybox:1"
    assert_status 0
    assert_output_has "registries.json\` is not valid JSON"
}

@test "progress: a bar per layer on a terminal, redrawn in place; nothing of it in a pipe" {
    command -v script >/dev/null || skip "script(1) from util-linux is missing"
    run script -qec "$BURROW --root $STORE pull 127.0.0.1:$PORT/t/top:1" /dev/null
    assert_status 0
    n_top=$(jq -r '.manifests[] | select(.annotations."org.opencontainers.image.ref.name" == "top") | .digest' "$LAYOUT/index.json")
    for d in $(jq -r '.layers[].digest' "$LAYOUT/blobs/sha256/${n_top#sha256:}"); do
        hex=${d#sha256:}
        assert_output_has "  ${hex:0:12}  done [0-9.]+ [kMG]B"
    done
    assert_output_has $'\e\\[2A'   # moved back over the two layer lines to redraw them
    "$BURROW" unshare rm -rf "$STORE"
    run b pull "127.0.0.1:$PORT/t/top:1"
    assert_status 0
    [[ "$output" != *done* ]]
    [[ "$output" != *$'\e'* ]]
}

@test "bearer tokens: anonymous pull through a token service; push and login with credentials" {
    command -v python3 >/dev/null || skip "python3 is missing (it runs the test token service; scripts/install-deps installs it)"
    tok="$BATS_TEST_TMPDIR/tok"
    mkdir -p "$tok"
    openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=burrow-token -keyout "$tok/key.pem" -out "$tok/cert.pem" 2>/dev/null
    tport=$(dead_port)
    python3 "$TOKEN_SERVER" "$tport" "$tok/key.pem" "$tok/cert.pem" burrow-issuer burrow-registry "$tok/log" alice:s3cret \
        >"$tok/server.out" 2>&1 3>&- &
    echo $! >>"$BATS_TEST_TMPDIR/proxy-pids"
    for _ in $(seq 50); do curl -s -o /dev/null "http://127.0.0.1:$tport/token" && break; sleep 0.1; done
    port=$(start_registry "$tok/reg" "$(printf 'auth:\n  token:\n    realm: http://127.0.0.1:%s/token\n    service: burrow-registry\n    issuer: burrow-issuer\n    rootcertbundle: %s\n' \
        "$tport" "$tok/cert.pem")")
    skopeo copy -q --dest-tls-verify=false --dest-creds alice:s3cret "oci:$LAYOUT:base" "docker://127.0.0.1:$port/t/busybox:1"
    : >"$tok/log"
    export REGISTRY_AUTH_FILE="$BATS_TEST_TMPDIR/auth.json"

    run b pull "127.0.0.1:$port/t/busybox:1"   # no credentials: an anonymous token
    assert_status 0
    grep -q "^anonymous repository:t/busybox:pull pull$" "$tok/log"
    layer=$(ls "$STORE/layers")
    cmp "$STORE/layers/$layer/bin/busybox" "$SOURCE_ROOTFS/bin/busybox"

    run b push "127.0.0.1:$port/t/busybox:1" "127.0.0.1:$port/t/copy:1"   # anonymous tokens only pull
    assert_status 125
    assert_output_has "127.0.0.1:$port"

    run b login -u alice -p wrong "127.0.0.1:$port"
    assert_status 125
    assert_output_has "wrong"
    [ ! -e "$REGISTRY_AUTH_FILE" ]
    grep -q "^denied alice$" "$tok/log"
    run b login -u alice -p s3cret "127.0.0.1:$port"
    assert_status 0
    run b push "127.0.0.1:$port/t/busybox:1" "127.0.0.1:$port/t/copy:1"
    assert_status 0
    grep -q "^alice repository:t/copy:.*push" "$tok/log"
    run skopeo inspect --tls-verify=false --creds alice:s3cret "docker://127.0.0.1:$port/t/copy:1"
    assert_status 0
}

@test "pull: owners 1000 and 65534 and setuid survive, from gzip, zstd and uncompressed layers" {
    w="$BATS_TEST_TMPDIR/own"
    mkdir -p "$w/base/etc"
    echo u1000 >"$w/base/f1000"
    echo nobody >"$w/base/f65534"
    echo gone >"$w/base/etc/gone"
    cp /bin/busybox "$w/base/suid"
    chmod 4755 "$w/base/suid"
    tar -C "$w/base" --owner=1000 --group=1000 -cf "$w/base.tar" f1000
    tar -C "$w/base" --owner=65534 --group=65534 -rf "$w/base.tar" f65534
    tar -C "$w/base" --owner=0 --group=0 -rf "$w/base.tar" suid etc
    gzip -k "$w/base.tar"
    zstd -q -k "$w/base.tar"
    run "$BURROW" unshare cat /proc/self/uid_map
    map=$output
    for format in gzip zstd none; do
        case $format in
            gzip) file="$w/base.tar.gz" suffix=gzip ;;
            zstd) file="$w/base.tar.zst" suffix=zstd ;;
            none) file="$w/base.tar" suffix=tar ;;
        esac
        run b import "$file" "own-$format:1"
        assert_status 0
        dest="127.0.0.1:$PORT/t/own-$format:1"
        run b push -q "own-$format:1" "$dest"
        assert_status 0
        media=$(skopeo inspect --raw --tls-verify=false "docker://$dest" | jq -r '.layers[0].mediaType')
        [[ "$media" == *"$suffix" ]]
        fresh="$BATS_TEST_TMPDIR/fresh-$format"
        run "$BURROW" --root "$fresh" pull -q "$dest"
        assert_status 0
        l="$fresh/layers/$(ls "$fresh/layers")"
        [ "$(cat "$l/f1000")" = u1000 ]
        [ "$(stat -c %a "$l/suid")" = 4755 ]
        cmp "$l/suid" /bin/busybox
        if want=$(outside_id "$map" 1000) && want2=$(outside_id "$map" 65534); then
            [ "$(stat -c %u:%g "$l/f1000")" = "$want:$want" ]
            [ "$(stat -c %u:%g "$l/f65534")" = "$want2:$want2" ]
        else
            [ "$(stat -c %u "$l/f1000")" = "$(id -u)" ]   # single-ID map: collapsed to the caller
        fi
        "$BURROW" unshare rm -rf "$fresh"
    done
}

@test "pull: malformed manifests from a registry are clear errors; the store stays empty" {
    command -v python3 >/dev/null || skip "python3 is missing (it serves the broken manifests; scripts/install-deps installs it)"
    web="$BATS_TEST_TMPDIR/web"
    mkdir -p "$web/v2/t/notjson/manifests" "$web/v2/t/v1/manifests" "$web/v2/t/nocfg/manifests"
    echo '{"schemaVersion": 2, "layers": [' >"$web/v2/t/notjson/manifests/1"
    echo '{"schemaVersion": 1, "name": "t/v1", "fsLayers": []}' >"$web/v2/t/v1/manifests/1"
    echo '{"schemaVersion": 2, "config": {"digest": "sha256:nothex"}, "layers": []}' >"$web/v2/t/nocfg/manifests/1"
    wport=$(dead_port)
    (cd "$web" && exec python3 -m http.server --bind 127.0.0.1 "$wport" >/dev/null 2>&1 3>&-) &
    echo $! >>"$BATS_TEST_TMPDIR/proxy-pids"
    # python's start-up under a loaded machine (the sanitizer suite) can take seconds
    for _ in $(seq 300); do curl -s -o /dev/null "http://127.0.0.1:$wport/" && break; sleep 0.1; done
    curl -s -o /dev/null "http://127.0.0.1:$wport/" || { echo "the test's web server did not start" >&2; false; }
    run b pull "127.0.0.1:$wport/t/notjson:1"
    assert_status 125
    assert_output_has "t/notjson:1: the manifest is not valid JSON"
    run b pull "127.0.0.1:$wport/t/v1:1"
    assert_status 125
    assert_output_has "manifest schema version 1 is not supported"
    run b pull "127.0.0.1:$wport/t/nocfg:1"
    assert_status 125
    assert_output_has "no valid config digest"
    run b images -q
    [ -z "$output" ]
    run b pull -q "127.0.0.1:$PORT/t/busybox:1"   # and a good pull works
    assert_status 0
}

@test "pulls and removals at once on one store: each ends cleanly; every listed image is whole" {
    b pull -q "127.0.0.1:$PORT/t/top:1" >"$BATS_TEST_TMPDIR/a" 2>&1 &
    p1=$!
    b pull -q "127.0.0.1:$PORT/t/top:1" >"$BATS_TEST_TMPDIR/b" 2>&1 &
    p2=$!
    wait $p1
    wait $p2
    [ "$(tail -1 "$BATS_TEST_TMPDIR/a")" = "$(tail -1 "$BATS_TEST_TMPDIR/b")" ]   # both succeeded, one image
    for round in 1 2 3 4; do
        b rmi "127.0.0.1:$PORT/t/top:1" >"$BATS_TEST_TMPDIR/rmi" 2>&1 &
        p1=$!
        b pull -q "127.0.0.1:$PORT/t/top:1" >"$BATS_TEST_TMPDIR/pull" 2>&1 &
        p2=$!
        wait $p1 || grep -q "is not in the store" "$BATS_TEST_TMPDIR/rmi" || { cat "$BATS_TEST_TMPDIR/rmi"; false; }   # the pull may not have stored it yet
        wait $p2 || { cat "$BATS_TEST_TMPDIR/pull"; false; }
        # whatever is listed has all its layers and blobs
        for id in $(b images -q); do
            for d in $(b inspect "$id" | jq -r '.[0].RootFS.diff_ids[]'); do
                [ -d "$STORE/layers/${d#sha256:}" ] || { echo "round $round: image $id lacks layer $d" >&2; false; }
            done
        done
    done
    run b pull -q "127.0.0.1:$PORT/t/top:1"
    assert_status 0
}

@test "run pulls a missing image (--pull=missing, the default); --pull=never refuses; --pull=always fetches again" {
    run b run --rm --pull=never "127.0.0.1:$PORT/t/busybox:1" echo hi
    assert_status 125
    assert_output_has "is not in the store"
    run b run --rm "127.0.0.1:$PORT/t/busybox:1" echo hi
    assert_status 0
    [ "${lines[-1]}" = hi ]
    run b images --format '{{.Repository}}:{{.Tag}}'
    [ "$output" = "127.0.0.1:$PORT/t/busybox:1" ]
    run b run --rm --pull=always "127.0.0.1:$PORT/t/busybox:1" echo again
    assert_status 0
    assert_output_has "0 of 1 layers fetched"   # the manifest was fetched again; the layer was there
    [ "${lines[-1]}" = again ]
}
