#!/usr/bin/env bash
# Start-up of an image container running `true`, overlay assembly included: burrow (the store's
# default driver, and fuse-overlayfs) against `burrow run --rootfs`, rootless podman and crun on a
# bundle of the same rootfs, in one hyperfine run, as an unprivileged user. Then a file-heavy
# workload (untar into the container's layer, find over the image, read every file of the image)
# under each driver and on the host, to show what FUSE costs.
#
# crun (and podman with crun) refuse this host's hybrid cgroup layout; like the figures in the
# issue, everything runs in a private mount namespace where the cgroup2 hierarchy is bound over
# /sys/fs/cgroup, with crun's cgroups disabled and podman on cgroupfs. burrow ignores cgroups here.
#
# Usage: bench/run.sh [BURROW-BINARY]     (as root; runs the measurements as burrow-test)
# Needs: hyperfine podman crun fuse-overlayfs jq busybox-static (scripts/install-deps --bench)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
burrow=$(readlink -f "${1:-$here/../build/burrow}")
runs=${RUNS:-100}
heavy_runs=${HEAVY_RUNS:-5}

for tool in hyperfine podman crun fuse-overlayfs jq umoci; do
    command -v "$tool" >/dev/null || { echo "run.sh: $tool missing: scripts/install-deps --bench" >&2; exit 1; }
done
[ -x "$burrow" ] || { echo "run.sh: no burrow binary at $burrow (build first)" >&2; exit 1; }

if [ "$(id -u)" = 0 ] && [ -z "${BENCH_INNER:-}" ]; then
    chmod 0666 /dev/fuse
    . "$here/lib.sh"
    stage=$(bench_stage "$0" "$burrow")
    trap 'rm -rf "$stage"' EXIT
    cg=/sys/fs/cgroup
    [ -d /sys/fs/cgroup/unified ] && cg=/sys/fs/cgroup/unified
    unshare -m sh -c "mount --make-rprivate / && { [ $cg = /sys/fs/cgroup ] || mount --bind $cg /sys/fs/cgroup; } &&
        exec runuser -u burrow-test -- env HOME=/home/burrow-test XDG_RUNTIME_DIR= BENCH_INNER=1 \
            MAKE_ROOTFS=$stage/make-rootfs RUNS=$runs HEAVY_RUNS=$heavy_runs bash $stage/run.sh $stage/burrow"
    exit
fi

work=$(mktemp -d /tmp/burrow-bench-run.XXXXXX)
store=$work/store
rr=$work/runroot
B="$burrow --root $store --runroot $rr"
cleanup() {
    $B system reset -f >/dev/null 2>&1 || true
    podman rmi -f localhost/bench:img >/dev/null 2>&1 || true
    rm -rf "$work" 2>/dev/null || true
}
trap cleanup EXIT

# One image: busybox, as an OCI layout; the same tree as --rootfs and as crun's bundle.
"${MAKE_ROOTFS:-$here/../scripts/make-rootfs}" "$work/rootfs" >/dev/null
umoci init --layout "$work/oci" >/dev/null
umoci new --image "$work/oci:img" >/dev/null
umoci unpack --rootless --image "$work/oci:img" "$work/u" >/dev/null 2>&1
cp -a "$work/rootfs/." "$work/u/rootfs/"
umoci repack --image "$work/oci:img" "$work/u" >/dev/null
$B load -i "$work/oci" >/dev/null
$B save -o "$work/img.tar" oci:img >/dev/null
loaded=$(podman load -i "$work/img.tar" 2>&1 | sed -n -e 's/^Loaded image(s): //p' -e 's/^Loaded image: //p' | head -1)
[ -n "$loaded" ] || { echo "run.sh: podman did not load the image" >&2; exit 1; }
podman tag "$loaded" localhost/bench:img
mkdir -p "$work/bundle"
(cd "$work/bundle" && crun spec --rootless && ln -s "$work/rootfs" rootfs)
jq '.process.args = ["true"] | .process.terminal = false' "$work/bundle/config.json" >"$work/bundle/c.json"
mv "$work/bundle/c.json" "$work/bundle/config.json"

$B run --rm --net=none oci:img true   # the store's driver is probed on first use
driver=$($B info | sed -n 's/^storage driver *//p')
echo "# $(uname -r), $(nproc) cores, as $(id -un); burrow $($burrow --version | cut -d' ' -f3) (store driver: $driver)," \
     "$(podman --version), $(crun --version | head -1), $(fuse-overlayfs --version 2>&1 | head -1)"

hyperfine -N --warmup 10 --runs "$runs" --export-json "$work/start.json" \
    -n burrow "$B run --rm --net=none oci:img true" \
    -n burrow-fuse "$B run --rm --net=none --storage-driver fuse-overlayfs oci:img true" \
    -n burrow-rootfs "$B run --net=none --rootfs $work/rootfs true" \
    -n podman "podman run --rm --net=none --cgroup-manager=cgroupfs localhost/bench:img true" \
    -n crun "crun --root $work/crun --cgroup-manager=disabled run --bundle $work/bundle bench-$$" >&2

jq -r '
  def ms: . * 1000 | . * 100 | round / 100;
  def x: . * 1000 | round / 1000 | tostring + "x";
  (.results | map({(.command): .mean}) | add) as $m
  | (.results | map({(.command): .median}) | add) as $d
  | (.results[] | "mean \(.command): \(.mean | ms) ms (median \(.median | ms) ms)"),
    "ratio burrow/podman          \($m.burrow / $m.podman | x)   (goal <= 0.05x; of medians \($d.burrow / $d.podman | x))",
    "ratio burrow/crun            \($m.burrow / $m.crun | x)   (goal <= 0.5x; of medians \($d.burrow / $d.crun | x))",
    "ratio burrow/burrow-rootfs   \($m.burrow / $m["burrow-rootfs"] | x)   (goal <= 1.5x; of medians \($d.burrow / $d["burrow-rootfs"] | x))",
    "ratio burrow-fuse/podman     \($m["burrow-fuse"] / $m.podman | x)",
    "ratio burrow-fuse/crun       \($m["burrow-fuse"] / $m.crun | x)"
' "$work/start.json"

[ "$heavy_runs" -gt 0 ] || exit 0   # HEAVY_RUNS=0: start-up only

# File-heavy: an image of /usr/include and /usr/share/doc (many small files) plus a tarball of
# them; inside, untar into the container's writable layer, find over the image's tree and read
# every file of it. The host runs the same script on a plain directory.
heavy=$work/heavy
mkdir -p "$heavy/data"
cp -a /usr/include "$heavy/data/include"
cp -a /usr/share/doc "$heavy/data/doc" 2>/dev/null || true
tar cf "$heavy/data.tar" -C "$heavy/data" include
cat >"$heavy/work.sh" <<'EOF'
# busybox's tar, find and cat on both sides: the same programs, inside and out
set -e
d=${1:-}
bb=busybox
rm -rf "$d/untarred"
mkdir -p "$d/untarred"
$bb tar xf "$d/data.tar" -C "$d/untarred"
$bb find "$d/data" | wc -l >/dev/null
$bb find "$d/data" -type f -exec $bb cat {} + >/dev/null
rm -rf "$d/untarred"
EOF
cp -a "$work/rootfs/." "$heavy/img/" 2>/dev/null || { mkdir -p "$heavy/img"; cp -a "$work/rootfs/." "$heavy/img/"; }
cp -a "$heavy/data" "$heavy/img/data"
cp "$heavy/data.tar" "$heavy/work.sh" "$heavy/img/"
tar cf "$heavy/img.tar" -C "$heavy/img" .
$B import "$heavy/img.tar" heavy:img >/dev/null
files=$(find "$heavy/data" -type f | wc -l)
size=$(du -sm "$heavy/data" | cut -f1)
echo "# file-heavy workload: $files files, $size MB read; untar of $(du -sm "$heavy/data.tar" | cut -f1) MB"
hyperfine -N --warmup 1 --runs "$heavy_runs" --export-json "$work/heavy.json" \
    -n host "sh $heavy/work.sh $heavy" \
    -n burrow-overlay "$B run --rm --net=none --storage-driver overlay heavy:img sh /work.sh" \
    -n burrow-fuse "$B run --rm --net=none --storage-driver fuse-overlayfs heavy:img sh /work.sh" >&2
jq -r '
  def s: . * 100 | round / 100;
  def x: . * 100 | round / 100 | tostring + "x";
  (.results | map({(.command): .mean}) | add) as $m
  | (.results[] | "mean \(.command): \(.mean | s) s"),
    "ratio burrow-overlay/host    \($m["burrow-overlay"] / $m.host | x)",
    "ratio burrow-fuse/host       \($m["burrow-fuse"] / $m.host | x)",
    "ratio burrow-fuse/overlay    \($m["burrow-fuse"] / $m["burrow-overlay"] | x)"
' "$work/heavy.json"
