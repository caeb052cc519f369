#!/usr/bin/env bats
# Networking: --net=slirp (the default: user-mode NAT, tap0 in the container), port forwarding,
# the host's loopback closed unless asked for, DNS through slirp's forwarder, /etc/hosts and
# resolv.conf, --net=none and --net=host, bad input. All traffic stays on 127.0.0.1 or inside
# namespaces.

bats_require_minimum_version 1.5.0
load helpers

setup_file() {
    common_setup_file
    command -v python3 >/dev/null || { export NET_SKIP="python3 missing (scripts/install-deps installs it)"; return 0; }
    [ -r /dev/net/tun ] && [ -w /dev/net/tun ] ||
        { export NET_SKIP="/dev/net/tun is not usable by $(id -un) (the test setup makes it 0666 as root)"; return 0; }
    mkdir -p "$ROOTFS/www" "$ROOTFS/probe"
    echo hello-from-container >"$ROOTFS/www/index.html"
    [ -x "${UDPECHO:-}" ] && cp "$UDPECHO" "$ROOTFS/probe/udpecho"
    export WWW="$BATS_FILE_TMPDIR/www"
    mkdir -p "$WWW"
    echo hello-from-host >"$WWW/index.html"
}

setup() {
    [ -z "${NET_SKIP:-}" ] || skip "$NET_SKIP"
    common_setup
}

teardown() {
    local p
    for p in ${SERVER_PID:-} ${CTR_PID:-}; do
        kill "$p" 2>/dev/null && wait "$p" 2>/dev/null
    done
    common_teardown
}

# No slirp helper of ours is left. A helper is killed when its container ends and exits on its
# own time (unregistering tap0 waits for RCU): give it up to 5 s.
no_helper_left() {
    local i
    for i in $(seq 50); do
        [ -z "$(pgrep -u "$(id -u)" -x burrow-slirp)" ] && return 0
        sleep 0.1
    done
    echo "slirp helpers left: $(pgrep -u "$(id -u)" -x burrow-slirp | tr '\n' ' ')" >&2
    return 1
}

# A free port on 127.0.0.1 (the kernel picks it).
free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# An HTTP server on the host's 127.0.0.1:$1 serving $WWW.
host_server() {
    python3 -m http.server -b 127.0.0.1 "$1" --directory "$WWW" >/dev/null 2>&1 &
    SERVER_PID=$!
    local i
    for i in $(seq 50); do
        curl -s "http://127.0.0.1:$1/index.html" >/dev/null && return 0
        sleep 0.1
    done
    echo "the test's HTTP server did not start" >&2
    return 1
}

# The body of URL $1 once something answers it (50 tries, 0.1 s apart); empty if nothing did.
wait_page() {
    local i body=""
    for i in $(seq 50); do
        body=$(curl -s --max-time 2 "$1") && [ -n "$body" ] && break
        sleep 0.1
    done
    echo "$body"
}

# busybox has no working wget in a static rootfs here: plain HTTP through nc
http_get_inside() {
    echo "printf 'GET /index.html HTTP/1.0\\r\\nHost: x\\r\\n\\r\\n' | nc -w 3 $1 $2"
}

@test "the default is slirp: tap0 with 10.0.2.100/24, the route via 10.0.2.2, MTU 65520, IPv6 fd00::100; files in /etc" {
    run burrow run --rootfs "$ROOTFS" --hostname web1 sh -c 'ip -o addr show tap0; ip route; ip -6 route; cat /etc/resolv.conf; cat /etc/hosts; cat /etc/hostname'
    echo "$output"
    assert_status 0
    [[ "$output" == *"inet 10.0.2.100/24"* ]]
    [[ "$output" == *"inet6 fd00::100/64"* ]]
    [[ "$output" == *"default via 10.0.2.2 dev tap0"* ]]
    [[ "$output" == *"default via fd00::2 dev tap0"* ]]
    [[ "$output" == *"nameserver 10.0.2.3"* ]]
    grep -qE '^10\.0\.2\.100[[:space:]]+web1$' <<<"$output"
    grep -qx web1 <<<"$output"
    run burrow run --rootfs "$ROOTFS" cat /sys/class/net/tap0/mtu
    [ "$output" = 65520 ]
    # both families reach the gateway (slirp answers pings itself)
    run burrow run --rootfs "$ROOTFS" sh -c 'ping -c1 -W2 10.0.2.2 && ping6 -c1 -W2 fd00::2'
    echo "$output"
    assert_status 0
    # bound in, not written into the rootfs
    [ ! -e "$ROOTFS/etc/resolv.conf" ] || [ "$(cat "$ROOTFS/etc/resolv.conf")" != "nameserver 10.0.2.3" ]
}

@test "the host's 127.0.0.1 is out of reach by default, and reachable as 10.0.2.2 with allow_host_loopback=true" {
    port=$(free_port)
    host_server "$port"
    run burrow run --rootfs "$ROOTFS" sh -c "$(http_get_inside 10.0.2.2 "$port")"
    echo "$output"
    [[ "$output" != *hello-from-host* ]]
    # nor through the container's own loopback
    run burrow run --rootfs "$ROOTFS" sh -c "$(http_get_inside 127.0.0.1 "$port")"
    [[ "$output" != *hello-from-host* ]]
    run burrow run --net=slirp:allow_host_loopback=true --rootfs "$ROOTFS" sh -c "$(http_get_inside 10.0.2.2 "$port"); grep host.containers.internal /etc/hosts"
    echo "$output"
    assert_status 0
    [[ "$output" == *hello-from-host* ]]
    [[ "$output" == *"10.0.2.2"*"host.containers.internal"* ]]
}

@test "-p 127.0.0.1:PORT:80: the host fetches a page from busybox httpd in a detached container" {
    port=$(free_port)
    # (the function `burrow` would put a shell between $! and burrow)
    "$BURROW" run -p "127.0.0.1:$port:80" --rootfs "$ROOTFS" httpd -f -p 80 -h /www &
    SERVER_PID=$!
    [ "$(wait_page "http://127.0.0.1:$port/index.html")" = hello-from-container ]
    # not on other addresses of the host: 127.0.0.1 only
    run curl -s --max-time 2 "http://127.0.0.2:$port/index.html"
    [ "$status" -ne 0 ]
}

# Once udpecho (started with its output in $BATS_TEST_TMPDIR/out) listens: send datagram $3 to
# host $1 (IPv4 or IPv6), port $2, until an answer comes back (printed), 30 tries.
udp_ask() {
    local i reply=""
    for i in $(seq 50); do
        grep -q listening "$BATS_TEST_TMPDIR/out" && break
        sleep 0.1
    done
    for i in $(seq 30); do
        reply=$(python3 -c '
import socket, sys
host, port, msg = sys.argv[1], int(sys.argv[2]), sys.argv[3]
s = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(0.3)
s.sendto(msg.encode(), (host, port))
try:
    print(s.recv(100).decode())
except socket.timeout:
    pass
' "$1" "$2" "$3")
        [ -n "$reply" ] && break
        sleep 0.1
    done
    echo "$reply"
}

# Serve $ROOTFS/www from busybox httpd in a container with -p 127.0.0.1:$1:80 and further
# options $2..., until a page comes back. CGI: /cgi-bin/peer prints the client's address as
# the server sees it, /cgi-bin/sum the sha256 of what was posted.
serve_www() {
    local port=$1
    shift
    mkdir -p "$ROOTFS/www/cgi-bin"
    printf '#!/bin/sh\necho "Content-Type: text/plain"; echo; echo "$REMOTE_ADDR"\n' >"$ROOTFS/www/cgi-bin/peer"
    printf '#!/bin/sh\necho "Content-Type: text/plain"; echo; head -c "$CONTENT_LENGTH" | sha256sum | cut -d" " -f1\n' \
        >"$ROOTFS/www/cgi-bin/sum"
    chmod 0755 "$ROOTFS/www/cgi-bin/peer" "$ROOTFS/www/cgi-bin/sum"
    "$BURROW" run -p "127.0.0.1:$port:80" "$@" --rootfs "$ROOTFS" httpd -f -p 80 -h /www &
    SERVER_PID=$!
    [ "$(wait_page "http://127.0.0.1:$port/index.html")" = hello-from-container ] && return 0
    echo "httpd in the container did not answer on 127.0.0.1:$port" >&2
    return 1
}

@test "-p, both port handlers: 32 MiB each way arrive intact; the server sees its own address (splice) or the gateway (slirp)" {
    head -c 33554432 /dev/urandom >"$ROOTFS/www/big"
    local want
    want=$(sha256sum <"$ROOTFS/www/big" | cut -d' ' -f1)
    for handler in splice slirp; do
        port=$(free_port)
        serve_www "$port" --net=slirp:port_handler=$handler
        run curl -sf "http://127.0.0.1:$port/big" -o "$BATS_TEST_TMPDIR/big"
        assert_status 0
        [ "$(sha256sum <"$BATS_TEST_TMPDIR/big" | cut -d' ' -f1)" = "$want" ]
        run curl -sf --data-binary @"$ROOTFS/www/big" -H 'Content-Type: application/octet-stream' "http://127.0.0.1:$port/cgi-bin/sum"
        echo "$handler upload: $output"
        [ "$output" = "$want" ]
        run curl -sf "http://127.0.0.1:$port/cgi-bin/peer"
        echo "$handler peer: $output"
        # (httpd listens on IPv6 too: IPv4 peers come as [::ffff:A.B.C.D])
        if [ "$handler" = splice ]; then peer=10.0.2.100; else peer=10.0.2.2; fi
        [ "$output" = "$peer" ] || [ "$output" = "[::ffff:$peer]" ]
        # 16 connections at once, each intact
        local i curls=()
        for i in $(seq 16); do
            curl -sf "http://127.0.0.1:$port/big" -o "$BATS_TEST_TMPDIR/big.$i" &
            curls+=($!)
        done
        for i in "${curls[@]}"; do wait "$i"; done
        for i in $(seq 16); do
            [ "$(sha256sum <"$BATS_TEST_TMPDIR/big.$i" | cut -d' ' -f1)" = "$want" ]
        done
        rm -f "$BATS_TEST_TMPDIR"/big.*
        kill "$SERVER_PID"
        wait "$SERVER_PID" || true
        SERVER_PID=
    done
}

@test "-p: a connection before the server listens is refused at once, not hung; the same port is free for the next container at once" {
    local handler i
    for handler in splice slirp; do
        port=$(free_port)
        "$BURROW" run -p "127.0.0.1:$port:80" --net=slirp:port_handler=$handler --rootfs "$ROOTFS" \
            sh -c 'sleep 1; exec httpd -f -p 80 -h /www' &
        SERVER_PID=$!
        # refused (reset or closed: curl 7, 52 or 56), not a timeout (28)
        for i in $(seq 50); do [ -n "$(ss -Hltn "sport = :$port")" ] && break; sleep 0.1; done
        run curl -s --max-time 5 "http://127.0.0.1:$port/index.html"
        echo "$handler: curl $status: $output"
        [ "$status" -ne 0 ] && [ "$status" -ne 28 ]
        [ "$(wait_page "http://127.0.0.1:$port/index.html")" = hello-from-container ]
        kill "$SERVER_PID"
        wait "$SERVER_PID" || true
        SERVER_PID=
        # the port at once, three times over (tap0's slow teardown must not hold it)
        for i in 1 2 3; do
            run burrow run -p "127.0.0.1:$port:80" --net=slirp:port_handler=$handler --rootfs "$ROOTFS" true
            echo "$handler, again $i: $output"
            assert_status 0
        done
    done
    run burrow run --net=slirp:port_handler=vpnkit --rootfs "$ROOTFS" true
    assert_status 125
    [[ "$output" == *"port_handler is splice (the default) or slirp"* ]]
}

@test "-p with /udp: a datagram to the host port comes back from an echo server in the container" {
    [ -x "$ROOTFS/probe/udpecho" ] || skip "the udpecho test helper was not built (make check builds tests/helpers/udpecho)"
    port=$(free_port)
    "$BURROW" run -p "$port:5353/udp" --rootfs "$ROOTFS" /probe/udpecho 5353 >"$BATS_TEST_TMPDIR/out" &
    CTR_PID=$!
    [ "$(udp_ask 127.0.0.1 "$port" ping-udp)" = echo:ping-udp ]
    # with a UDP forward the host's loopback stays closed to the container's own traffic
    hport=$(free_port)
    host_server "$hport"
    run "$BURROW" run -p "$(free_port):5353/udp" --rootfs "$ROOTFS" sh -c "$(http_get_inside 10.0.2.2 "$hport")"
    [[ "$output" != *hello-from-host* ]]
}

@test "-p [::1]:PORT:80 (IPv6 host address): TCP through both port handlers, UDP through libslirp; only on ::1" {
    [ -n "$(ip -6 addr show dev lo 2>/dev/null | grep '::1/128')" ] || skip "the host's loopback has no ::1 (IPv6 off)"
    local handler body i
    for handler in splice slirp; do
        port=$(free_port)
        "$BURROW" run -p "[::1]:$port:80" --net=slirp:port_handler=$handler --rootfs "$ROOTFS" httpd -f -p 80 -h /www &
        SERVER_PID=$!
        body=$(wait_page "http://[::1]:$port/index.html")
        echo "$handler: $body"
        [ "$body" = hello-from-container ]
        # IPv6 only: not on the host's 127.0.0.1
        run curl -s --max-time 2 "http://127.0.0.1:$port/index.html"
        [ "$status" -ne 0 ]
        kill "$SERVER_PID"
        wait "$SERVER_PID" || true
        SERVER_PID=
    done
    if [ -x "$ROOTFS/probe/udpecho" ]; then
        port=$(free_port)
        "$BURROW" run -p "[::1]:$port:5353/udp" --rootfs "$ROOTFS" /probe/udpecho 5353 >"$BATS_TEST_TMPDIR/out" &
        CTR_PID=$!
        [ "$(udp_ask ::1 "$port" ping6)" = echo:ping6 ]
    else
        echo "# UDP over [::1] not tried: the udpecho test helper was not built" >&3
    fi
    run burrow run -p '[::1:8080:80' --rootfs "$ROOTFS" true
    assert_status 125
    [[ "$output" == *"[::1]:8080:80"* ]]
    run burrow run -p '[not-v6]:8080:80' --rootfs "$ROOTFS" true
    assert_status 125
    [[ "$output" == *"not an IPv6 address"* ]]
    run burrow run -p '[::1]:1:2:80' --rootfs "$ROOTFS" true
    assert_status 125
    # libslirp carries IPv6 host addresses to the container's IPv6 address only
    run burrow run -p "[::1]:$(free_port):53/udp" --net=slirp:enable_ipv6=false --rootfs "$ROOTFS" touch /ran6
    assert_status 125
    [[ "$output" == *"enable_ipv6=false"* ]]
    [ ! -e "$ROOTFS/ran6" ]
}

@test "ranges: -p 127.0.0.1:P-P+1:80-81 forwards both ports" {
    port=$(free_port)
    next=$((port + 1))
    "$BURROW" run -p "127.0.0.1:$port-$next:80-81" --rootfs "$ROOTFS" sh -c '
        (echo one | nc -l -p 80 >/dev/null &) ; (echo two | nc -l -p 81 >/dev/null &) ; sleep 10' &
    SERVER_PID=$!
    local a="" b="" i
    for i in $(seq 30); do
        [ -n "$a" ] || a=$(curl -s --max-time 1 "telnet://127.0.0.1:$port" </dev/null 2>/dev/null || true)
        [ -n "$b" ] || b=$(curl -s --max-time 1 "telnet://127.0.0.1:$next" </dev/null 2>/dev/null || true)
        [ -n "$a" ] && [ -n "$b" ] && break
        sleep 0.1
    done
    [ "$a" = one ]
    [ "$b" = two ]
}

@test "--dns, --dns-search and --add-host shape /etc/resolv.conf and /etc/hosts" {
    run burrow run --dns 192.0.2.53 --dns 2001:db8::53 --dns-search example.test --add-host db:192.0.2.7 \
        --add-host v6host:2001:db8::7 --rootfs "$ROOTFS" sh -c 'cat /etc/resolv.conf; cat /etc/hosts'
    echo "$output"
    assert_status 0
    [[ "$output" == *"search example.test"* ]]
    [[ "$output" == *"nameserver 192.0.2.53"* ]]
    [[ "$output" == *"nameserver 2001:db8::53"* ]]
    [[ "$output" != *"nameserver 10.0.2.3"* ]]
    grep -qE '^192\.0\.2\.7[[:space:]]+db$' <<<"$output"
    grep -qE '^2001:db8::7[[:space:]]+v6host$' <<<"$output"
}

@test "--net=none shows only lo; --net=host shows the host's interfaces and resolver" {
    run burrow run --net=none --rootfs "$ROOTFS" sh -c 'ls /sys/class/net'
    assert_status 0
    [ "$output" = lo ]
    run burrow run --net=host --rootfs "$ROOTFS" sh -c 'ls /sys/class/net | sort'
    assert_status 0
    [ "$output" = "$(ls /sys/class/net | sort)" ]
    if [ -r /etc/resolv.conf ]; then
        run burrow run --net=host --rootfs "$ROOTFS" cat /etc/resolv.conf
        [ "$output" = "$(cat /etc/resolv.conf)" ]
    fi
}

@test "the slirp helper lives exactly as long as the container: gone after exit and after kill -9 of burrow (with -p)" {
    local i
    burrow run --rootfs "$ROOTFS" true
    no_helper_left
    # with a forwarded port: the helper and the process that makes sockets in the container
    port=$(free_port)
    "$BURROW" run -p "127.0.0.1:$port:80" --rootfs "$ROOTFS" sh -c 'echo hi | nc -l -p 80; sleep 12345' &
    local pid=$! got=""
    for i in $(seq 50); do
        got=$(curl -s --max-time 1 "telnet://127.0.0.1:$port" </dev/null 2>/dev/null || true)
        [ -n "$got" ] && break
        sleep 0.1
    done
    [ "$got" = hi ]
    [ "$(pgrep -u "$(id -u)" -x burrow-slirp | wc -l)" -eq 2 ]
    kill -9 "$pid"
    wait "$pid" 2>/dev/null || true
    no_helper_left
}

@test "bad input: malformed -p, a port already in use, a privileged port, a bad cidr: exit 125 with a clear error, nothing left" {
    run burrow run -p 1x:80 --rootfs "$ROOTFS" true
    assert_status 125
    [[ "$output" == *"-p \`1x:80\`"* ]]
    run burrow run -p 8080:80/sctp --rootfs "$ROOTFS" true
    assert_status 125
    [[ "$output" == *"neither tcp nor udp"* ]]
    run burrow run -p 8000-8002:80-81 --rootfs "$ROOTFS" true
    assert_status 125
    [[ "$output" == *"3 ports"* ]]
    port=$(free_port)
    host_server "$port"
    run burrow run -p "$port:80" --rootfs "$ROOTFS" touch /ran
    assert_status 125
    [[ "$output" == *"host port $port is already in use"* ]]
    [ ! -e "$ROOTFS/ran" ]
    if [ "$(id -u)" != 0 ] && [ "$(cat /proc/sys/net/ipv4/ip_unprivileged_port_start)" -gt 80 ]; then
        run burrow run -p 80:80 --rootfs "$ROOTFS" true
        assert_status 125
        [[ "$output" == *"net.ipv4.ip_unprivileged_port_start"* ]]
    fi
    run burrow run --net=slirp:cidr=10.0.2.1/24 --rootfs "$ROOTFS" true
    assert_status 125
    [[ "$output" == *"host bits set"* ]]
    run burrow run --net=slirp:cidr=300.0.0.0/24 --rootfs "$ROOTFS" true
    assert_status 125
    run burrow run --net=slirp:mtu=50 --rootfs "$ROOTFS" true
    assert_status 125
    [[ "$output" == *"mtu"* ]]
    run burrow run --net=bridge --rootfs "$ROOTFS" true
    assert_status 125
    [[ "$output" == *"unknown network mode"* ]]
    run burrow run --add-host nocolon --rootfs "$ROOTFS" true
    assert_status 125
    run burrow run --dns not-an-ip --rootfs "$ROOTFS" true
    assert_status 125
    no_helper_left
}

@test "slirp options: cidr, mtu and enable_ipv6=false" {
    run burrow run --net=slirp:cidr=10.9.0.0/24,mtu=1500,enable_ipv6=false --rootfs "$ROOTFS" sh -c '
        ip -o addr show tap0; ip route; cat /sys/class/net/tap0/mtu; cat /etc/resolv.conf'
    echo "$output"
    assert_status 0
    [[ "$output" == *"inet 10.9.0.100/24"* ]]
    [[ "$output" == *"default via 10.9.0.2"* ]]
    [[ "$output" == *"nameserver 10.9.0.3"* ]]
    grep -qx 1500 <<<"$output"
    [[ "$output" != *inet6* ]]
    run burrow run --net=slirp:enable_ipv6=false --rootfs "$ROOTFS" ping -c1 -W1 10.0.2.2
    assert_status 0
}

@test "DNS: the container resolves a name through 10.0.2.3, answered by a resolver the test starts (root)" {
    [ "$(id -u)" = 0 ] || skip "libslirp forwards to the nameserver of /etc/resolv.conf on port 53: binding port 53 and bind-mounting a resolv.conf need root (the root suite runs this)"
    command -v dnsmasq >/dev/null || skip "dnsmasq missing (scripts/install-deps installs dnsmasq-base)"
    command -v unshare >/dev/null || skip "unshare missing (util-linux)"
    local d="$BATS_TEST_TMPDIR/dns"
    mkdir -p "$d"
    echo "nameserver 127.0.0.77" >"$d/resolv.conf"
    dnsmasq --no-daemon --listen-address=127.0.0.77 --bind-interfaces --port=53 --no-resolv --no-hosts \
        --address=/probe.burrow.test/192.0.2.99 --address=/probe.burrow.test/2001:db8::99 --pid-file="$d/pid" 2>"$d/log" &
    SERVER_PID=$!
    sleep 0.5
    run unshare -m sh -c "mount --make-rprivate / && mount --bind $d/resolv.conf /etc/resolv.conf && \
        $BURROW run --rootfs $ROOTFS nslookup probe.burrow.test"
    echo "$output"
    assert_status 0
    [[ "$output" == *"10.0.2.3"* ]]
    [[ "$output" == *"192.0.2.99"* ]]
    [[ "$output" == *"2001:db8::99"* ]]
}

@test "image containers: slirp by default, -p kept by create and start, ports in inspect; exec sees the same network" {
    command -v jq >/dev/null || skip "jq missing"
    tar -C "$ROOTFS" -cf "$BATS_TEST_TMPDIR/r.tar" .
    burrow import "$BATS_TEST_TMPDIR/r.tar" netimg:1 >/dev/null
    port=$(free_port)
    port6=$(free_port)
    burrow create --name web -p "127.0.0.1:$port:80" -p "[::1]:$port6:80" netimg:1 httpd -f -p 80 -h /www >/dev/null
    burrow start web
    [ "$(wait_page "http://127.0.0.1:$port/index.html")" = hello-from-container ]
    if [ -n "$(ip -6 addr show dev lo 2>/dev/null | grep '::1/128')" ]; then
        [ "$(curl -s "http://[::1]:$port6/index.html")" = hello-from-container ]
    else
        echo "# [::1] not fetched: the host's loopback has no ::1" >&3
    fi
    run burrow exec web sh -c 'ip -o addr show tap0'
    [[ "$output" == *"10.0.2.100/24"* ]]
    run burrow inspect web
    [ "$(jq -r ".[0].HostConfig.PortBindings[\"80/tcp\"][0].HostPort" <<<"$output")" = "$port" ]
    [ "$(jq -r ".[0].HostConfig.PortBindings[\"80/tcp\"][1].HostIp" <<<"$output")" = "::1" ]
    burrow rm -f web >/dev/null
    burrow rmi netimg:1 >/dev/null
}
