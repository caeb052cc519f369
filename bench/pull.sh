#!/usr/bin/env bash
# Pull + unpack of a multi-layer image (about 300 MB unpacked) from a registry on 127.0.0.1:
# burrow pull against skopeo copy + umoci unpack --rootless and rootless podman pull (overlay
# driver, as podman picks it here), in one hyperfine run, as an unprivileged user. Prints
# burrow's ratios. Goal (issue 4): <= 0.5x skopeo+umoci.
#
# Usage: bench/pull.sh [BURROW-BINARY]     (default: build/burrow)
# Needs: docker-registry skopeo umoci hyperfine jq podman (scripts/install-deps --bench)
# As root it re-runs itself as the test user burrow-test.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
burrow=$(readlink -f "${1:-$here/../build/burrow}")
runs=${RUNS:-5}
for tool in docker-registry skopeo umoci hyperfine jq curl; do
    command -v "$tool" >/dev/null || { echo "pull.sh: $tool missing: scripts/install-deps --bench" >&2; exit 1; }
done
. "$here/lib.sh"
bench_as_user "$0" "$burrow" -- RUNS="$runs"

work=$(mktemp -d /tmp/burrow-bench-pull.XXXXXX)
cleanup() {
    [ -f "$work/reg.pid" ] && kill "$(cat "$work/reg.pid")" 2>/dev/null
    "$burrow" unshare rm -rf "$work" 2>/dev/null || rm -rf "$work"
}
trap cleanup EXIT
port=$((20000 + RANDOM % 20000))
printf 'version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: %s/reg\nhttp:\n  addr: 127.0.0.1:%s\n' \
    "$work" "$port" >"$work/reg.yml"
docker-registry serve "$work/reg.yml" >"$work/reg.log" 2>&1 &
echo $! >"$work/reg.pid"
for _ in $(seq 50); do curl -s "http://127.0.0.1:$port/v2/" >/dev/null && break; sleep 0.1; done

# Four layers from this machine's own files (about 280 MB): translations, manual pages, locale
# sources, perl modules.
L=$work/oci
umoci init --layout "$L" >/dev/null
umoci new --image "$L:big" >/dev/null
step=0
for src in /usr/share/locale /usr/share/man /usr/share/i18n /usr/lib/x86_64-linux-gnu/perl-base; do
    step=$((step + 1))
    umoci unpack --rootless --image "$L:big" "$work/b$step" 2>/dev/null
    mkdir -p "$work/b$step/rootfs$(dirname "$src")"
    cp -a "$src" "$work/b$step/rootfs$src" 2>/dev/null || true
    umoci repack --image "$L:big" "$work/b$step" >/dev/null
    rm -rf "$work/b$step"
done
skopeo copy -q --dest-tls-verify=false "oci:$L:big" "docker://127.0.0.1:$port/bench/big:1"
ref="127.0.0.1:$port/bench/big:1"
m=$(jq -r '.manifests[0].digest' "$L/index.json")
layers=$(jq '.layers | length' "$L/blobs/sha256/${m#sha256:}")
packed=$(jq '[.layers[].size] | add' "$L/blobs/sha256/${m#sha256:}")
"$burrow" --root "$work/probe" pull -q "$ref" >/dev/null
unpacked=$(du -sb "$work/probe/layers" | cut -f1)
"$burrow" unshare rm -rf "$work/probe"
echo "# $(uname -r), $(nproc) cores, as $(id -un); image: $layers layers, $((packed / 1000000)) MB compressed, $((unpacked / 1000000)) MB unpacked"
echo "# burrow $("$burrow" --version | cut -d' ' -f3), $(skopeo --version), $(umoci --version)"

podman_args=()
if command -v podman >/dev/null; then
    echo "# $(podman --version)"
    # No systemd user session here: cgroupfs and a file event log; its own root and runroot.
    p="podman --root $work/podman --runroot $work/podman-run --storage-driver overlay --cgroup-manager=cgroupfs --events-backend=file"
    podman_args=(-n podman --prepare "$burrow unshare rm -rf $work/podman $work/podman-run"
                 "$p pull -q --tls-verify=false $ref")
else
    echo "# podman is not installed (scripts/install-deps --bench): not compared"
fi

hyperfine --runs "$runs" --export-json "$work/r.json" \
    -n burrow --prepare "$burrow unshare rm -rf $work/store" "$burrow --root $work/store pull -q $ref" \
    -n skopeo+umoci --prepare "rm -rf $work/sk $work/bundle" \
    "sh -c 'skopeo copy -q --src-tls-verify=false docker://$ref oci:$work/sk:big && umoci unpack --rootless --image $work/sk:big $work/bundle'" \
    "${podman_args[@]}" >&2
jq -r '
  (.results | map({(.command): .mean}) | add) as $m
  | (.results[] | "mean \(.command): \(.mean * 100 | round / 100) s"),
    "ratio burrow/(skopeo+umoci) \($m.burrow / $m["skopeo+umoci"] | . * 100 | round / 100)x",
    (if $m.podman then "ratio burrow/podman \($m.burrow / $m.podman | . * 100 | round / 100)x" else empty end)' "$work/r.json"
