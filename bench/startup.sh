#!/usr/bin/env bash
# Start-up cost of a container running `true`: burrow against bwrap, ch-run and plain /bin/true,
# in one hyperfine run, as an unprivileged user. Prints burrow's ratio to each.
# burrow runs three ways: with the user's subordinate range through the burrow-userns holder
# (the default), with the range mapped by newuidmap/newgidmap for every run
# (--no-userns-holder), and with a single-ID map (--userns=single).
#
# Usage: bench/startup.sh [BURROW-BINARY]      (default: build/burrow)
# Needs: hyperfine bubblewrap charliecloud-runtime jq busybox-static (scripts/install-deps --bench)
# Run as root, it re-runs itself as the test user burrow-test (created by the test suite).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
burrow=$(readlink -f "${1:-$here/../build/burrow}")
runs=${RUNS:-300}

for tool in hyperfine bwrap ch-run jq; do
    command -v "$tool" >/dev/null || { echo "startup.sh: $tool missing: scripts/install-deps --bench" >&2; exit 1; }
done
[ -x "$burrow" ] || { echo "startup.sh: no burrow binary at $burrow (build first)" >&2; exit 1; }

. "$here/lib.sh"
bench_as_user "$0" "$burrow" -- RUNS="$runs"

work=$(mktemp -d /tmp/burrow-bench-rootfs.XXXXXX)
trap 'rm -rf "$work"' EXIT
"${MAKE_ROOTFS:-$here/../scripts/make-rootfs}" "$work/r" >/dev/null
R=$work/r
echo "# $(uname -r), $(nproc) cores, as $(id -un); burrow $("$burrow" --version | cut -d' ' -f3)," \
     "$(bwrap --version), $(ch-run --version 2>&1 | head -1 | sed 's/^/ch-run /')"

rr=$work/runroot   # its own runroot: the holder starts in the warm-up and ends with $work
hyperfine -N --warmup 30 --runs "$runs" --export-json "$work/r.json" \
    -n burrow "$burrow --runroot $rr run --net=none --rootfs $R true" \
    -n burrow-newuidmap "$burrow --runroot $rr --no-userns-holder run --net=none --rootfs $R true" \
    -n burrow-single "$burrow --runroot $rr run --userns=single --net=none --rootfs $R true" \
    -n bwrap "bwrap --unshare-all --bind $R / --proc /proc --dev /dev true" \
    -n ch-run "ch-run $R -- true" \
    -n true "/bin/true" >&2

echo "# subordinate range of $(id -un): $(grep -E "^$(id -un):" /etc/subuid | head -1 || echo none)"
jq -r '
  def ms: . * 1000 | . * 100 | round / 100;
  def x: . * 100 | round / 100 | tostring + "x";
  (.results | map({(.command): .mean}) | add) as $m
  | (.results[] | "mean \(.command): \(.mean | ms) ms"),
    "ratio burrow/bwrap            \($m.burrow / $m.bwrap | x)",
    "ratio burrow-newuidmap/bwrap  \($m["burrow-newuidmap"] / $m.bwrap | x)",
    "ratio burrow-single/bwrap     \($m["burrow-single"] / $m.bwrap | x)",
    "ratio burrow/burrow-newuidmap \($m.burrow / $m["burrow-newuidmap"] | x)",
    "ratio burrow/ch-run           \($m.burrow / $m["ch-run"] | x)",
    "ratio burrow/true             \($m.burrow / $m.true | x)"' "$work/r.json"
