#!/usr/bin/env bash
# Network throughput of burrow's slirp NAT side by side with slirp4netns (--mtu=65520) and pasta,
# in one run, as an unprivileged user: iperf3 TCP from the container to a server on the host's
# 127.0.0.1 (burrow with allow_host_loopback=true, slirp4netns without --disable-host-loopback,
# both through 10.0.2.2; pasta through its namespace-to-host forwarding, -T), and from the host
# to a server in the container through a forwarded port (burrow -p: its splice relay, and
# libslirp's forwarding with port_handler=slirp; slirp4netns's add_hostfwd; pasta -t). The
# host's own loopback is the ceiling. Then the start-up that --net=slirp adds to --net=none
# (hyperfine).
#
# The "container" of every tool runs the host's own iperf3: burrow in a busybox rootfs with the
# host's /usr, /lib and /lib64 bound read-only, the others with their namespaces around the
# host's tree.
#
# Usage: bench/net.sh [BURROW-BINARY]     (as root, it runs as burrow-test)
# Needs: iperf3 slirp4netns passt hyperfine jq python3 (scripts/install-deps --bench)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
burrow=$(readlink -f "${1:-$here/../build/burrow}")
secs=${SECS:-5}

for tool in iperf3 slirp4netns pasta hyperfine jq python3 unshare nsenter ss; do
    command -v "$tool" >/dev/null || { echo "net.sh: $tool missing: scripts/install-deps --bench" >&2; exit 1; }
done
[ -x "$burrow" ] || { echo "net.sh: no burrow binary at $burrow (build first)" >&2; exit 1; }

. "$here/lib.sh"
[ "$(id -u)" != 0 ] || chmod 0666 /dev/net/tun
bench_as_user "$0" "$burrow" -- SECS="$secs" ROUNDS="${ROUNDS:-3}" RUNS="${RUNS:-100}"

work=$(mktemp -d /tmp/burrow-bench-net.XXXXXX)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT
B="$burrow --runroot $work/runroot"
"${MAKE_ROOTFS:-$here/../scripts/make-rootfs}" "$work/r" >/dev/null
R="--rootfs $work/r -v /usr:/usr:ro -v /lib:/lib:ro -v /lib64:/lib64:ro"

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
gbits() { jq -r '.end.sum_received.bits_per_second / 1e9 | . * 100 | round / 100'; }
wait_port() { # wait until something listens on port $1 (without connecting: iperf3 -s -1 takes one client)
    for _ in $(seq 100); do
        [ -n "$(ss -Hltn "sport = :$1")" ] && return 0
        sleep 0.1
    done
    echo "net.sh: nothing listens on 127.0.0.1:$1" >&2
    return 1
}

echo "# $(uname -r), $(nproc) cores, as $(id -un); burrow $($burrow --version | cut -d' ' -f3), $(slirp4netns --version | head -1)," \
     "$(pasta --version 2>&1 | head -1), $(iperf3 --version | head -1); ${secs}s per run"

round() {
    # the ceiling: the host's loopback
    port=$(free_port)
    iperf3 -s -1 -B 127.0.0.1 -p "$port" >/dev/null 2>&1 &
    pids+=($!)
    wait_port "$port"
    host=$(iperf3 -c 127.0.0.1 -p "$port" -t "$secs" -J | gbits)

    # --- burrow ---
    port=$(free_port)
    iperf3 -s -1 -B 127.0.0.1 -p "$port" >/dev/null 2>&1 &
    pids+=($!)
    wait_port "$port"
    b_out=$($B run --net=slirp:allow_host_loopback=true $R /usr/bin/iperf3 -c 10.0.2.2 -p "$port" -t "$secs" -J | gbits)
    port=$(free_port)
    $B run -p "127.0.0.1:$port:5201" $R /usr/bin/iperf3 -s -1 >/dev/null 2>&1 &
    pids+=($!)
    wait_port "$port" || true
    sleep 0.2
    b_in=$(iperf3 -c 127.0.0.1 -p "$port" -t "$secs" -J | gbits)
    # the same through libslirp's own forwarding (port_handler=slirp), as slirp4netns does it
    port=$(free_port)
    $B run --net=slirp:port_handler=slirp -p "127.0.0.1:$port:5201" $R /usr/bin/iperf3 -s -1 >/dev/null 2>&1 &
    pids+=($!)
    wait_port "$port" || true
    sleep 0.2
    b_in_slirp=$(iperf3 -c 127.0.0.1 -p "$port" -t "$secs" -J | gbits)

    # --- slirp4netns: a user+network namespace, slirp4netns attached to it ---
    unshare --user --map-root-user --net sleep 1000 &
    ns=$!
    pids+=($ns)
    sleep 0.3
    rm -f "$work/s4n.sock"
    slirp4netns --configure --mtu=65520 --api-socket "$work/s4n.sock" "$ns" tap0 >/dev/null 2>&1 &
    pids+=($!)
    for _ in $(seq 50); do [ -S "$work/s4n.sock" ] && break; sleep 0.1; done
    port=$(free_port)
    iperf3 -s -1 -B 127.0.0.1 -p "$port" >/dev/null 2>&1 &
    pids+=($!)
    wait_port "$port"
    s_out=$(nsenter -t "$ns" -U -n --preserve-credentials iperf3 -c 10.0.2.2 -p "$port" -t "$secs" -J | gbits)
    port=$(free_port)
    python3 - "$work/s4n.sock" "$port" <<'EOF'
import json, socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.sendall(json.dumps({"execute": "add_hostfwd", "arguments": {"proto": "tcp", "host_addr": "127.0.0.1",
                      "host_port": int(sys.argv[2]), "guest_port": 5201}}).encode())
s.shutdown(socket.SHUT_WR)
reply = s.recv(4096).decode()
if "error" in reply:
    sys.exit("slirp4netns add_hostfwd: " + reply)
EOF
    nsenter -t "$ns" -U -n --preserve-credentials iperf3 -s -1 >/dev/null 2>&1 &
    pids+=($!)
    sleep 0.5
    s_in=$(iperf3 -c 127.0.0.1 -p "$port" -t "$secs" -J | gbits)

    # --- pasta: the command in a namespace of its own; -T forwards its ports to the host's, -t the reverse ---
    port=$(free_port)
    iperf3 -s -1 -B 127.0.0.1 -p "$port" >/dev/null 2>&1 &
    pids+=($!)
    wait_port "$port"
    p_out=$(pasta --config-net -q -T "$port" -t none -u none -U none -- iperf3 -c 127.0.0.1 -p "$port" -t "$secs" -J | gbits)
    port=$(free_port)
    pasta --config-net -q -t "$port:5201" -T none -u none -U none -- iperf3 -s -1 >/dev/null 2>&1 &
    pids+=($!)
    sleep 1
    p_in=$(iperf3 -c 127.0.0.1 -p "$port" -t "$secs" -J | gbits)
    kill "$ns" 2>/dev/null || true
    echo "$host $b_out $b_in $s_out $s_in $p_out $p_in $b_in_slirp"
}

# This VM's throughput swings between runs: ROUNDS rounds, the tools in turn in each, medians.
rounds=${ROUNDS:-3}
: >"$work/rounds"
for ((r = 0; r < rounds; r++)); do
    round >>"$work/rounds"
    echo "round $r: $(tail -1 "$work/rounds")  (host, burrow out/in, slirp4netns out/in, pasta out/in, burrow in with port_handler=slirp; Gbit/s)"
done
med() { cut -d' ' -f"$1" "$work/rounds" | sort -g | awk '{a[NR] = $1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }
host=$(med 1) b_out=$(med 2) b_in=$(med 3) s_out=$(med 4) s_in=$(med 5) p_out=$(med 6) p_in=$(med 7) b_in_slirp=$(med 8)
ratio() { python3 -c 'import sys; a, b = float(sys.argv[1]), float(sys.argv[2]); print("%.2fx" % (a / b) if b else "-")' "$1" "$2"; }
printf '%-28s %14s %14s\n' "Gbit/s (median)" "ctr -> host" "host -> ctr"
printf '%-28s %14s %14s\n' "host loopback (ceiling)" "$host" "$host"
printf '%-28s %14s %14s\n' "burrow --net=slirp" "$b_out" "$b_in"
printf '%-28s %14s %14s\n' "  -p with port_handler=slirp" "" "$b_in_slirp"
printf '%-28s %14s %14s\n' "slirp4netns --mtu=65520" "$s_out" "$s_in"
printf '%-28s %14s %14s\n' "pasta" "$p_out" "$p_in"
echo "ratio burrow/slirp4netns     $(ratio "$b_out" "$s_out") (ctr->host)   $(ratio "$b_in" "$s_in") (host->ctr)   (goal >= 1.2x)"
echo "ratio burrow port_handler=slirp/slirp4netns         $(ratio "$b_in_slirp" "$s_in") (host->ctr)"
echo "ratio burrow/pasta           $(ratio "$b_out" "$p_out") (ctr->host)   $(ratio "$b_in" "$p_in") (host->ctr)"

# start-up: what --net=slirp adds to --net=none
hyperfine -N --warmup 10 --runs "${RUNS:-100}" --export-json "$work/start.json" \
    -n none "$B run --net=none --rootfs $work/r true" \
    -n slirp "$B run --net=slirp --rootfs $work/r true" >/dev/null 2>&1
jq -r '(.results | map({(.command): .median}) | add) as $d
  | "start-up median: none \($d.none * 1e5 | round / 100) ms, slirp \($d.slirp * 1e5 | round / 100) ms: slirp adds \(($d.slirp - $d.none) * 1e5 | round / 100) ms (goal < 2 ms)"' \
    "$work/start.json"
