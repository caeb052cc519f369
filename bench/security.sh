#!/usr/bin/env bash
# What the seccomp filter and the capability setup cost at start-up: `burrow run --rootfs R true`
# with burrow's default confinement, with `--security-opt seccomp=unconfined`, with
# `--privileged` (no filter, no masks, no capability drop) and with the default profile limited to
# the native architecture (x86_64 without its i386 rules), in one hyperfine run, as an
# unprivileged user. The compiled filter is cached in the runroot (the warm-up fills it), so what
# is left is the kernel's own work when the filter is attached (it checks, converts and JITs
# every instruction) and the masked-path mounts.
#
# Usage: bench/security.sh [BURROW-BINARY]      (default: build/burrow)
# Needs: hyperfine jq busybox-static (scripts/install-deps --bench)
# Run as root, it re-runs itself as the test user burrow-test.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
burrow=$(readlink -f "${1:-$here/../build/burrow}")
runs=${RUNS:-300}

for tool in hyperfine jq; do
    command -v "$tool" >/dev/null || { echo "security.sh: $tool missing: scripts/install-deps --bench" >&2; exit 1; }
done
[ -x "$burrow" ] || { echo "security.sh: no burrow binary at $burrow (build first)" >&2; exit 1; }

if [ "$(id -u)" = 0 ] && [ -z "${BENCH_AS_ROOT:-}" ]; then
    id burrow-test >/dev/null 2>&1 || useradd --create-home --shell /bin/sh burrow-test
    stage=$(mktemp -d /tmp/burrow-bench.XXXXXX)
    trap 'rm -rf "$stage"' EXIT
    cp "$burrow" "$stage/burrow"
    cp "$0" "$stage/security.sh"
    cp "$here/../scripts/make-rootfs" "$stage/make-rootfs"
    chmod -R a+rX "$stage"
    chmod 0755 "$stage"
    runuser -u burrow-test -- env HOME=/home/burrow-test MAKE_ROOTFS="$stage/make-rootfs" RUNS="$runs" \
        bash "$stage/security.sh" "$stage/burrow"
    exit
fi

work=$(mktemp -d /tmp/burrow-bench-sec.XXXXXX)
trap 'rm -rf "$work"' EXIT
"${MAKE_ROOTFS:-$here/../scripts/make-rootfs}" "$work/r" >/dev/null
R=$work/r
rr=$work/runroot
# the default profile as burrow ships it, minus the i386 and x32 architectures
"$burrow" --runroot "$rr" seccomp-profile 2>/dev/null >"$work/default.json" ||
    { echo "security.sh: burrow seccomp-profile failed" >&2; exit 1; }
jq '.archMap |= map(.subArchitectures = [])' "$work/default.json" >"$work/native.json"
echo "# $(uname -r), $(nproc) cores, as $(id -un); burrow $("$burrow" --version | cut -d' ' -f3)"
hyperfine -N --warmup 30 --runs "$runs" --export-json "$work/r.json" \
    -n default "$burrow --runroot $rr run --net=none --rootfs $R true" \
    -n unconfined "$burrow --runroot $rr run --net=none --security-opt seccomp=unconfined --rootfs $R true" \
    -n privileged "$burrow --runroot $rr run --net=none --privileged --rootfs $R true" \
    -n native-only "$burrow --runroot $rr run --net=none --security-opt seccomp=$work/native.json --rootfs $R true" >&2
jq -r '
  def ms: . * 1000 | . * 1000 | round / 1000;
  (.results | map({(.command): .mean}) | add) as $m
  | (.results | map({(.command): .median}) | add) as $d
  | (.results[] | "mean \(.command): \(.mean | ms) ms (median \(.median | ms) ms)"),
    "seccomp filter (default - unconfined):           \(($m.default - $m.unconfined) | ms) ms (medians \(($d.default - $d.unconfined) | ms) ms; goal < 0.3 ms)",
    "native-only filter (native-only - unconfined):   \(($m["native-only"] - $m.unconfined) | ms) ms (medians \(($d["native-only"] - $d.unconfined) | ms) ms)",
    "all confinement (default - privileged):          \(($m.default - $m.privileged) | ms) ms (medians \(($d.default - $d.privileged) | ms) ms)"
' "$work/r.json"
