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
runs=${RUNS:-150}

for tool in hyperfine jq; do
    command -v "$tool" >/dev/null || { echo "security.sh: $tool missing: scripts/install-deps --bench" >&2; exit 1; }
done
[ -x "$burrow" ] || { echo "security.sh: no burrow binary at $burrow (build first)" >&2; exit 1; }

. "$here/lib.sh"
bench_as_user "$0" "$burrow" "$here/seccomp-attach.c" -- RUNS="$runs"

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
# This VM's speed drifts from one minute to the next by more than the filter costs, and hyperfine
# runs its commands one after the other: so ROUNDS short hyperfine runs, each with the commands
# in another order, and the median of each round's differences.
rounds=${ROUNDS:-6}
names=(default unconfined privileged native-only)
cmds=("$burrow --runroot $rr run --net=none --rootfs $R true"
      "$burrow --runroot $rr run --net=none --security-opt seccomp=unconfined --rootfs $R true"
      "$burrow --runroot $rr run --net=none --privileged --rootfs $R true"
      "$burrow --runroot $rr run --net=none --security-opt seccomp=$work/native.json --rootfs $R true")
"$burrow" --runroot "$rr" run --net=none --rootfs "$R" true   # the filter's cache, filled
for ((round = 0; round < rounds; round++)); do
    args=()
    for ((k = 0; k < ${#names[@]}; k++)); do
        i=$(( (k + round) % ${#names[@]} ))
        args+=(-n "${names[$i]}" "${cmds[$i]}")
    done
    hyperfine -N --warmup 20 --runs "$runs" --export-json "$work/r$round.json" "${args[@]}" >/dev/null 2>&1
    jq -r --arg round "$round" '
      (.results | map({(.command): (.median * 1000)}) | add) as $d
      | "round \($round): medians default \($d.default * 1000 | round / 1000) ms, unconfined \($d.unconfined * 1000 | round / 1000), privileged \($d.privileged * 1000 | round / 1000), native-only \($d["native-only"] * 1000 | round / 1000); filter \(($d.default - $d.unconfined) * 1000 | round / 1000) ms, native-only filter \(($d["native-only"] - $d.unconfined) * 1000 | round / 1000) ms, all confinement \(($d.default - $d.privileged) * 1000 | round / 1000) ms"
    ' "$work/r$round.json"
done
jq -s -r '
  def median: sort | if length % 2 == 1 then .[length / 2 | floor] else (.[length / 2 - 1] + .[length / 2]) / 2 end;
  def r: . * 1000 | round / 1000;
  map(.results | map({(.command): (.median * 1000)}) | add) as $rs
  | "seccomp filter (default - unconfined), median of rounds:         \($rs | map(.default - .unconfined) | median | r) ms (goal < 0.3 ms)",
    "native-only filter (native-only - unconfined), median of rounds: \($rs | map(.["native-only"] - .unconfined) | median | r) ms",
    "all confinement (default - privileged), median of rounds:        \($rs | map(.default - .privileged) | median | r) ms"
' "$work"/r*.json
# the kernel's part alone, alternating with and without: attach the cached filters in a forked child
cc -O2 -o "$work/seccomp-attach" "$here/seccomp-attach.c"
for f in "$rr"/seccomp/*.bpf; do
    "$work/seccomp-attach" "$f" 2000
done
