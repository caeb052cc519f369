#!/usr/bin/env bats
# burrow run IMAGE: containers on kernel overlayfs in the store; ps, rm, rmi of an image in use.

bats_require_minimum_version 1.5.0
load helpers

setup_file() {
    common_setup_file
    command -v umoci >/dev/null && command -v jq >/dev/null ||
        { export CTR_SKIP="umoci or jq missing (scripts/install-deps installs them)"; return 0; }
    export LAYOUT="$BATS_FILE_TMPDIR/oci"
    local w="$BATS_FILE_TMPDIR/build"
    mkdir -p "$w"
    # Layer 1: busybox, a user in /etc/passwd, files the second layer deletes or hides.
    umoci init --layout "$LAYOUT"
    umoci new --image "$LAYOUT:img"
    umoci unpack --rootless --image "$LAYOUT:img" "$w/b" 2>/dev/null
    cp -a "$ROOTFS/." "$w/b/rootfs/"
    mkdir -p "$w/b/rootfs/etc" "$w/b/rootfs/opq" "$w/b/rootfs/srv/app"
    printf 'root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\n' >"$w/b/rootfs/etc/passwd"
    printf 'root:x:0:\napp:x:1000:\nstaff:x:50:\n' >"$w/b/rootfs/etc/group"
    echo bye >"$w/b/rootfs/etc/gone"
    echo old >"$w/b/rootfs/opq/old"
    echo image >"$w/b/rootfs/srv/app/file"
    umoci repack --image "$LAYOUT:img" "$w/b"
    # Layer 2: a deletion (whiteout) and a replaced directory (opaque).
    umoci unpack --rootless --image "$LAYOUT:img" "$w/b2" 2>/dev/null
    rm "$w/b2/rootfs/etc/gone"
    rm -rf "$w/b2/rootfs/opq"
    mkdir "$w/b2/rootfs/opq"
    echo new >"$w/b2/rootfs/opq/new"
    umoci repack --image "$LAYOUT:img" "$w/b2"
    umoci config --image "$LAYOUT:img" --config.cmd /bin/sh --config.cmd -c --config.cmd 'echo cmd:$GREETING:$(pwd)' \
        --config.env GREETING=hello --config.env PATH=/bin:/usr/bin --config.workingdir /srv/app
    umoci config --image "$LAYOUT:img" --tag ep --config.entrypoint /bin/echo --config.entrypoint entry \
        --config.cmd default-arg --config.user app
    umoci config --image "$LAYOUT:img" --tag vol --config.volume /srv/app --config.exposedports 8080/tcp \
        --config.cmd sh --config.cmd -c --config.cmd 'cat /srv/app/file'
    umoci config --image "$LAYOUT:img" --tag stopsig --config.stopsignal SIGUSR1 \
        --config.cmd sh --config.cmd -c --config.cmd 'trap "exit 6" USR1; trap "exit 1" TERM; while :; do sleep 0.1; done'
}
setup() {
    common_setup
    [ -z "${CTR_SKIP:-}" ] || skip "$CTR_SKIP"
    export STORE="$BATS_TEST_TMPDIR/store"
    "$BURROW" --root "$STORE" load -i "$LAYOUT" >/dev/null
}
teardown() {
    # a failed test may leave containers running: stop them before the store goes
    [ -d "${STORE:-/nonexistent}" ] && for c in $(b ps -q 2>/dev/null); do b rm -f "$c" >/dev/null 2>&1; done
    [ -d "${STORE:-/nonexistent}" ] && "$BURROW" unshare rm -rf "$STORE" 2>/dev/null || true
    common_teardown
}

b() { "$BURROW" --root "$STORE" "$@"; }

layer_tree() { # every file of the image's layers, to show they never change
    find "$STORE/layers" -printf '%P %s %m\n' | sort | sha256sum
}

@test "run --rm IMAGE: a file written inside is read back; the image is unchanged; nothing is left" {
    before=$(layer_tree)
    run b run --rm oci:img sh -c 'echo hi > /f; cat /f'
    assert_status 0
    [ "$output" = hi ]
    [ "$(layer_tree)" = "$before" ]
    [ -z "$(ls -A "$STORE/containers")" ]
    # its files go in the background, out of sight in tmp/ meanwhile
    for _ in $(seq 50); do [ -z "$(ls -A "$STORE/tmp")" ] && break; sleep 0.1; done
    [ -z "$(ls -A "$STORE/tmp")" ]
    run b ps -a -q
    [ -z "$output" ]
    # the store's driver was probed once and kept; info shows it
    driver=$(jq -r .driver "$STORE/store.json")
    [ "$driver" = overlay ] || [ "$driver" = fuse-overlayfs ]
    run b info
    assert_output_has "^storage driver +$driver$"
}

@test "the image's Cmd, Env and WorkingDir apply; arguments replace Cmd; -e and -w win" {
    run b run --rm oci:img
    assert_status 0
    [ "$output" = "cmd:hello:/srv/app" ]
    run b run --rm -e GREETING=bye -w /tmp oci:img sh -c 'echo $GREETING $(pwd) $PATH'
    assert_status 0
    [ "$output" = "bye /tmp /bin:/usr/bin" ]
}

@test "Entrypoint and User: arguments follow the entrypoint; --entrypoint replaces it; the user comes from /etc/passwd" {
    # -u 0: the image's user (1000) exists only with a subordinate range
    run b run --rm -u 0 oci:ep
    assert_status 0
    [ "$output" = "entry default-arg" ]
    run b run --rm -u 0 oci:ep one two
    [ "$output" = "entry one two" ]
    if has_range || [ "$(id -u)" = 0 ]; then
        run b run --rm oci:ep
        [ "$output" = "entry default-arg" ]
        run b run --rm --entrypoint /bin/id oci:ep
        assert_status 0
        [ "$output" = "uid=1000(app) gid=1000(app) groups=1000(app)" ] || [ "$output" = "uid=1000(app) gid=1000(app)" ]
        run b run --rm -u app:staff --entrypoint /bin/id oci:ep -g
        [ "$output" = 50 ]
        run b run --rm -u nobody oci:img true
        assert_status 125
        assert_output_has "user \`nobody\` is not in the container's /etc/passwd"
    else
        run b run --rm --entrypoint /bin/id oci:ep
        assert_status 125   # the image's user does not exist under a single-ID map: said plainly
        assert_output_has "gid 1000 \\(not mapped in the container; a subordinate ID range"
    fi
    run b run --rm --entrypoint '' oci:ep
    assert_status 125
    assert_output_has "has no Entrypoint or Cmd: give a command"
}

@test "kernel overlay: whiteouts and opaque directories hide what lower layers have" {
    run b run --rm oci:img sh -c 'ls /etc/gone; ls /opq; cat /opq/new'
    [ "${lines[0]}" = "ls: /etc/gone: No such file or directory" ]
    [ "${lines[1]}" = new ]
    [ "${lines[2]}" = new ]
    run b run --rm oci:img sh -c 'rm /srv/app/file && ls /srv/app | wc -l'
    [ "$output" = 0 ]
    run b run --rm oci:img cat /srv/app/file   # deleted in a removed container: back again
    [ "$output" = image ]
}

@test "a container without --rm keeps its layer: ps -a shows its exit code and name; rm removes it" {
    run b run --name keeper oci:img sh -c 'echo kept > /data; chown 1000:1000 /data 2>/dev/null; exit 3'
    assert_status 3
    id=$(b ps -a -q)
    [ ${#id} = 12 ]
    run b ps -a
    assert_output_has "^$id +oci:img +\"sh -c echo kept"
    assert_output_has "Exited \\(3\\) .* keeper$"
    run b ps
    [ "${#lines[@]}" = 1 ]   # the header: nothing runs
    upper=$(echo "$STORE"/containers/"$id"*/upper)
    [ "$(cat "$upper/data")" = kept ]
    run b run --name keeper oci:img true
    assert_status 125
    assert_output_has "the container name \`keeper\` is already in use"
    run b rmi oci:img
    assert_status 125
    assert_output_has "is used by container keeper"
    run b rm keeper
    assert_status 0
    [ ! -e "$upper" ]
    run b ps -a -q
    [ -z "$output" ]
    run b rm keeper
    assert_status 125
    assert_output_has "no container \`keeper\`"
}

@test "rm refuses a running container; rm -f kills it; rmi -f takes stopped containers along" {
    "$BURROW" --root "$STORE" run --name runner oci:img sleep 12345 3>&- &
    pid=$!
    for _ in $(seq 100); do b ps -q | grep -q . && break; sleep 0.1; done
    run b ps
    assert_output_has " Up .* +runner$"
    run b rm runner
    assert_status 125
    assert_output_has "is running: stop it first, or use \`burrow rm -f\`"
    run b rm -f runner
    assert_status 0
    wait $pid || true
    run b ps -a -q
    [ -z "$output" ]
    b run --name stopped1 oci:img true
    b run --name stopped2 oci:img true
    run b rmi -f oci:img
    assert_status 0
    assert_output_has "Removed container: stopped"
    run b ps -a -q
    [ -z "$output" ]
}

@test "kill -9 of burrow run: no process or mount is left; ps shows the container exited; rm works" {
    "$BURROW" --root "$STORE" run --name victim oci:img sleep 12346 3>&- &
    pid=$!
    for _ in $(seq 100); do b ps -q | grep -q . && break; sleep 0.1; done
    kill -9 $pid
    wait $pid 2>/dev/null || true
    for _ in $(seq 50); do pgrep -u "$(id -u)" -f '^sleep 12346' >/dev/null || break; sleep 0.1; done
    ! pgrep -u "$(id -u)" -f '^sleep 12346'
    ! grep -q "$STORE" /proc/self/mountinfo
    run b ps -a
    assert_output_has "Exited \\(unknown\\) +victim$"
    run b rm victim
    assert_status 0
}

@test "an image that is not in the store: a clear error, no container made" {
    run b run --rm --pull=never nothere:1 true
    assert_status 125
    assert_output_has "image \`nothere:1\` is not in the store"
    assert_output_has "burrow pull nothere:1"
    run b run --rm 127.0.0.1:1/nothere:1 true   # --pull=missing (the default) tries, and says why it failed
    assert_status 125
    assert_output_has "image \`127.0.0.1:1/nothere:1\` is not in the store, and pulling it failed"
    [ -z "$(ls -A "$STORE/containers" 2>/dev/null)" ]
}

fuse_usable() {
    [ -r /dev/fuse ] && [ -w /dev/fuse ] && command -v fuse-overlayfs >/dev/null
}

@test "fuse-overlayfs and kernel overlay show the same tree: whiteouts, opaque directories, owners, modes, contents" {
    fuse_usable || skip "/dev/fuse is not usable by $(id -un) or fuse-overlayfs is missing (see burrow info)"
    tree='find / -xdev -exec stat -c "%n %u:%g %a %s %F" {} + | sort; cat /opq/* /srv/app/file'
    run b run --rm oci:img sh -c "$tree"
    assert_status 0
    kernel=$output
    run b run --rm --storage-driver fuse-overlayfs oci:img sh -c "$tree"
    assert_status 0
    [ "$output" = "$kernel" ] || { diff <(echo "$kernel") <(echo "$output") >&2; false; }
    # and the copy: whiteouts and opaque directories applied as it is made
    run b run --rm --storage-driver vfs oci:img sh -c "$tree"
    assert_status 0
    [ "$output" = "$kernel" ] || { diff <(echo "$kernel") <(echo "$output") >&2; false; }
    [[ "$kernel" != *"/etc/gone "* ]]
    [[ "$kernel" == *"/opq/new "* ]]
    [[ "$kernel" != *"/opq/old "* ]]
    [[ "$kernel" == *"/etc/passwd 0:0 644"* ]]
    run b run --rm --storage-driver fuse-overlayfs oci:img sh -c 'mount | head -1; ps -o comm | grep -c fuse'
    assert_output_has "^fuse-overlayfs on / type fuse"
    [ "${lines[1]}" = 0 ]   # the daemon is not in the container's PID namespace
}

@test "fuse-overlayfs: writes land in the container's layer; other users inside may read; nothing outlives burrow" {
    fuse_usable || skip "/dev/fuse is not usable by $(id -un) or fuse-overlayfs is missing (see burrow info)"
    run b run --name f1 --storage-driver fuse-overlayfs oci:img sh -c 'echo w > /w; rm /srv/app/file'
    assert_status 0
    id=$(b ps -a -q)
    [ "$(cat "$STORE"/containers/"$id"*/upper/w)" = w ]
    [ -c "$(echo "$STORE"/containers/"$id"*/upper/srv/app/file)" ]   # the deletion is a whiteout in its layer
    run b rm f1
    assert_status 0
    if has_range || [ "$(id -u)" = 0 ]; then
        run b run --rm --storage-driver fuse-overlayfs -u 1000 oci:img cat /srv/app/file
        assert_status 0
        [ "$output" = image ]
    fi
    "$BURROW" --root "$STORE" run --name fvictim --storage-driver fuse-overlayfs oci:img sleep 12347 3>&- &
    pid=$!
    for _ in $(seq 100); do pgrep -u "$(id -u)" -f '^sleep 12347' >/dev/null && break; sleep 0.1; done
    pgrep -u "$(id -u)" -x fuse-overlayfs >/dev/null
    kill -9 $pid
    wait $pid 2>/dev/null || true
    for _ in $(seq 50); do pgrep -u "$(id -u)" -x fuse-overlayfs >/dev/null || break; sleep 0.1; done
    ! pgrep -u "$(id -u)" -x fuse-overlayfs
    ! grep -q "$STORE" /proc/self/mountinfo
    run b rm fvictim
    assert_status 0
}

@test "--rm works from any mapping: keep-id, and a single-ID map with fuse-overlayfs" {
    if has_range; then
        run b run --rm --userns=keep-id oci:img id -u
        assert_status 0
        [ "$output" = "$(id -u)" ]
        [ -z "$(ls -A "$STORE/containers")" ]
        run b run --name kid --userns=keep-id oci:img sh -c 'exit 4'
        assert_status 4
        run b ps -a
        assert_output_has "Exited \\(4\\) .* kid$"
        run b rm kid
        assert_status 0
    fi
    if fuse_usable && [ "$(id -u)" != 0 ]; then
        run b run --rm --userns=single --storage-driver fuse-overlayfs oci:img sh -c 'touch /x; id -u'
        assert_status 0
        [ "$output" = 0 ]
        [ -z "$(ls -A "$STORE/containers")" ]
    fi
}

wait_running() { # name
    local _
    for _ in $(seq 100); do
        [ "$(b inspect "$1" 2>/dev/null | jq -r '.[0].State.Pid')" -gt 1 ] 2>/dev/null && return 0
        sleep 0.1
    done
    return 1
}

@test "stop: SIGTERM, then SIGKILL after -t; kill -s; wait prints the exit code; inspect shows the state" {
    "$BURROW" --root "$STORE" run --name t1 oci:img sh -c 'trap "exit 7" TERM; while :; do sleep 0.1; done' 3>&- &
    p1=$!
    wait_running t1
    run b inspect t1
    [ "$(jq -r '.[0].State.Status' <<<"$output")" = running ]
    [ "$(jq -r '.[0].Name' <<<"$output")" = t1 ]
    [ -d "$(jq -r '.[0].GraphDriver.Data.UpperDir' <<<"$output")" ]
    run b stop -t 5 t1
    assert_status 0
    run b wait t1
    [ "$output" = 7 ]
    wait $p1 || [ $? = 7 ]
    run b inspect t1
    [ "$(jq -r '.[0].State.Status' <<<"$output")" = exited ]
    [ "$(jq -r '.[0].State.ExitCode' <<<"$output")" = 7 ]

    "$BURROW" --root "$STORE" run --name t2 oci:img sh -c 'trap "" TERM; while :; do sleep 0.1; done' 3>&- &
    p2=$!
    wait_running t2
    start=$(date +%s)
    run b stop -t 1 t2
    assert_status 0
    [ $(($(date +%s) - start)) -lt 6 ]
    run b wait t2
    [ "$output" = 137 ]   # SIGKILL
    wait $p2 || true

    "$BURROW" --root "$STORE" run --name t3 oci:img sh -c 'trap "exit 9" USR1; while :; do sleep 0.1; done' 3>&- &
    p3=$!
    wait_running t3
    run b kill -s SIGUSR1 t3
    assert_status 0
    run b wait t3
    [ "$output" = 9 ]
    wait $p3 || true
    run b kill t3
    assert_status 125
    assert_output_has "is not running"
    run b kill -s NOPE t3
    assert_status 125
    assert_output_has "unknown signal \`NOPE\`"
    # the image's StopSignal
    "$BURROW" --root "$STORE" run --name t4 oci:stopsig 3>&- &
    p4=$!
    wait_running t4
    run b stop t4
    assert_status 0
    run b wait t4
    [ "$output" = 6 ]
    wait $p4 || true
    run b rm t1 t2 t3 t4
    assert_status 0
    run b inspect oci:img   # an image still inspects as one
    assert_status 0
    [ "$(jq -r '.[0].RepoTags[0]' <<<"$output")" = localhost/oci:img ]
}

@test "--env-file, --read-only and --tmpfs" {
    printf '# a comment\nFROM_FILE=one\n\n  SPACED=two words\nGREETING=from-file\n' >"$BATS_TEST_TMPDIR/env"
    run b run --rm --env-file "$BATS_TEST_TMPDIR/env" -e GREETING=from-flag oci:img sh -c 'echo "$FROM_FILE|$SPACED|$GREETING"'
    assert_status 0
    [ "$output" = "one|two words|from-flag" ]
    run b run --rm --read-only --tmpfs /run:size=1m oci:img sh -c 'touch /x || echo ro; touch /tmp/t /run/r && echo rw; df -k /run | tail -1'
    assert_status 0
    [ "${lines[0]}" = "touch: /x: Read-only file system" ]
    [ "${lines[1]}" = ro ]
    [ "${lines[2]}" = rw ]
    assert_output_has "^tmpfs +1024 "
    run b run --rm --tmpfs relative oci:img true
    assert_status 125
    assert_output_has "the path must be absolute"
    run b run --rm --tmpfs '/run:size=1m;rm' oci:img true
    assert_status 125
    assert_output_has "has no place in tmpfs options"
    run b run --rm --env-file /nonexistent oci:img true
    assert_status 125
    assert_output_has "\`/nonexistent\`"
}

@test "-d: the ID comes back at once; logs (and -f) show the output; stop, wait and rm work on it" {
    start=$(date +%s%N)
    id=$(b run -d --name bg oci:img sh -c 'echo up; echo err >&2; trap "echo bye; exit 5" TERM; while :; do sleep 0.1; done')
    [ $(( ($(date +%s%N) - start) / 1000000 )) -lt 5000 ]
    [[ "$id" =~ ^[0-9a-f]{64}$ ]]
    run b ps
    assert_output_has "^${id:0:12} .* Up .* +bg$"
    for _ in $(seq 50); do [ "$(b logs bg | wc -l)" -ge 2 ] && break; sleep 0.1; done
    run b logs bg
    [ "${lines[0]}" = up ]
    [ "${lines[1]}" = err ]
    b logs -f bg >"$BATS_TEST_TMPDIR/follow" 2>&1 3>&- &
    follower=$!
    run b stop bg
    assert_status 0
    wait $follower   # -f ends when the container does
    [ "$(tail -1 "$BATS_TEST_TMPDIR/follow")" = bye ]
    run b wait bg
    [ "$output" = 5 ]
    run b rm bg
    assert_status 0
    run b run -d -i oci:img true
    assert_status 125
    assert_output_has "-d with -i needs -t"
    run b run --rm oci:img true
    run b run --name fg oci:img true
    run b logs fg
    assert_status 125
    assert_output_has "did not run with -d"
    b rm fg
}

@test "HOME from the image's /etc/passwd unless set; --ulimit and --shm-size" {
    run b run --rm oci:img sh -c 'echo $HOME'
    [ "$output" = /root ]
    run b run --rm -e HOME=/elsewhere oci:img sh -c 'echo $HOME'
    [ "$output" = /elsewhere ]
    if has_range || [ "$(id -u)" = 0 ]; then
        run b run --rm --entrypoint /bin/sh oci:ep -c 'echo $HOME'
        [ "$output" = /home/app ]
    fi
    run b run --rm --ulimit nofile=100:200 --shm-size 2m oci:img sh -c 'ulimit -n; ulimit -Hn; df -k /dev/shm | tail -1'
    assert_status 0
    [ "${lines[0]}" = 100 ]
    [ "${lines[1]}" = 200 ]
    assert_output_has "^shm +2048 "
    hard=$(ulimit -Hn)
    if [ "$hard" != unlimited ]; then
        run b run --rm --ulimit "nofile=$((hard + 1)):$((hard + 1))" oci:img true
        assert_status 125
        assert_output_has "above your hard limit on the host"
    fi
    run b run --rm --ulimit frob=1 oci:img true
    assert_status 125
    assert_output_has "NAME one of core"
    run b run --rm --shm-size 1x oci:img true
    assert_status 125
    assert_output_has "expected a size"
}

@test "create, then start: -a attaches; the container's layer survives each start; rm deletes it" {
    id=$(b create --name c1 -e WHO=created oci:img sh -c 'cat /f 2>/dev/null || echo none; echo $WHO >> /f; wc -l < /f')
    [[ "$id" =~ ^[0-9a-f]{64}$ ]]
    run b ps -a
    assert_output_has "^${id:0:12} .* Created +c1$"
    [ ! -e "$STORE/containers/$id/state.json" ]
    run b start -a c1
    assert_status 0
    [ "$output" = "none
1" ]
    run b start -a c1
    [ "$output" = "created
2" ]
    # without -a: in the background, the name printed; its output goes to the log
    run b start c1
    assert_status 0
    [ "$output" = c1 ]
    run b wait c1
    [ "$output" = 0 ]
    run b logs c1
    assert_output_has "^3$"
    run b start -a "${id:0:8}"
    [ "${lines[-1]}" = 4 ]
    run b rm c1
    assert_status 0
    [ ! -e "$STORE/containers/$id" ]
    run b start c1
    assert_status 125
    assert_output_has "no container \`c1\`"
}

@test "start: the options given to create apply (-u, -w, --rm, exit code); a running container is not started twice" {
    ids=0:0   # a single-ID map has no other IDs
    { has_range || [ "$(id -u)" = 0 ]; } && ids=5:6
    b create --name opts -u $ids -w /work --hostname box --rm oci:img sh -c 'echo $(id -u):$(id -g):$(pwd):$(hostname); exit 3'
    run b start -a opts
    assert_status 3
    [ "$output" = "$ids:/work:box" ]
    run b ps -a -q   # --rm took it away
    [ -z "$output" ]
    b create --name twice oci:img sleep 12345 >/dev/null
    run b start twice
    assert_status 0
    run b start -a twice
    assert_status 125
    assert_output_has "already running"
    run b ps
    assert_output_has " Up .* +twice$"
    b rm -f twice
}

@test "create: a bind source that does not exist, an unknown image, a bad -v: clear errors, exit 125, no container" {
    run b create -v /nonexistent/dir:/x oci:img true
    assert_status 125
    assert_output_has "bind source \`/nonexistent/dir\` .*No such file"
    run b run --rm -v /nonexistent/dir:/x oci:img true
    assert_status 125
    assert_output_has "bind source \`/nonexistent/dir\` .*No such file"
    # one that goes away between create and start
    mkdir "$BATS_TEST_TMPDIR/src"
    b create --name gone -v "$BATS_TEST_TMPDIR/src:/x" oci:img true >/dev/null
    rmdir "$BATS_TEST_TMPDIR/src"
    run b start -a gone
    assert_status 125
    assert_output_has "src"
    b rm gone
    run b create nosuch:image true
    assert_status 125
    run b create -v rel/ative:/x oci:img true
    assert_status 125
    assert_output_has "neither a host path .* nor a volume name"
    run b create -d oci:img true
    assert_status 125
    assert_output_has "leave out -d"
    run b ps -a -q
    [ -z "$output" ]
    [ -z "$(ls -A "$STORE/containers" 2>/dev/null)" ]
}

@test "exec: joins the running container; its env, user and workdir, or -e, -u, -w; exit codes; -i; -t" {
    b run -d --name ex -e FROM=run -w /srv oci:img sh -c 'echo $$ > /tmp/init-sh; sleep 12345' >/dev/null
    for _ in $(seq 50); do b exec ex test -e /tmp/init-sh 2>/dev/null && break; sleep 0.1; done
    run b exec ex sh -c 'echo $FROM:$(pwd):$(id -u):$(hostname); cat /tmp/init-sh; ps -o pid,args | grep -c "^ *[0-9]* sleep 12345"'
    assert_status 0
    [ "${lines[0]}" = "run:/srv:0:$(b inspect ex | jq -r '.[0].Id' | cut -c1-12)" ]
    [ "${lines[1]}" -lt 10 ]   # the container's own PID namespace: its sh has a small PID there (2, or next after an exec that came first)
    [ "${lines[2]}" = 1 ]
    ids=0:0
    { has_range || [ "$(id -u)" = 0 ]; } && ids=7:8
    run b exec -e FROM=exec -u $ids -w /tmp ex sh -c 'echo $FROM:$(pwd):$(id -u):$(id -g)'
    [ "$output" = "exec:/tmp:$ids" ]
    # the same files: what exec writes, the container sees
    b exec ex sh -c 'echo shared > /srv/x'
    run b exec ex cat /srv/x
    [ "$output" = shared ]
    run b exec ex sh -c 'exit 9'
    assert_status 9
    run -127 b exec ex /nonexistent
    assert_status 127
    run b exec ex sh -c 'cat'   # no -i: stdin is empty
    [ -z "$output" ]
    run bash -c "echo piped | '$BURROW' --root '$STORE' exec -i ex cat"
    [ "$output" = piped ]
    if command -v script >/dev/null; then
        run script -qec "stty rows 20 cols 70; '$BURROW' --root '$STORE' exec -it ex sh -c 'tty; stty size'" /dev/null
        assert_output_has "/dev/pts/[0-9]+"
        assert_output_has "^20 70"
    else
        echo "# -t part skipped: script(1) missing (bsdutils)" >&3
    fi
    # exec is not dumpable until its command runs, and its children die with it
    b stop -t 1 ex
    run b exec ex true
    assert_status 125
    assert_output_has "container ex is not running \(start it first"
    run b exec nosuch true
    assert_status 125
    assert_output_has "no container \`nosuch\`"
    b rm ex
}

commit_and_check() { # $1: storage driver
    b run --name "c-$1" --storage-driver "$1" -e MARK=yes -w /srv oci:img \
        sh -c 'echo new > /newfile; ln /newfile /hardlink; rm -rf /srv/app; mkdir /srv/app; echo fresh > /srv/app/only;
               rm /bin/vi; echo ran:$MARK:$(pwd)' >/dev/null
    run b commit -m "from $1" -a tester "c-$1" "mine:$1"
    assert_status 0
    [[ "$output" =~ ^sha256:[0-9a-f]{64}$ ]]
    new=$output
    # the image has the changes, under every driver
    for driver in overlay vfs $(fuse_usable && echo fuse-overlayfs); do
        run b run --rm --storage-driver $driver "mine:$1" sh -c \
            'cat /newfile; ls /srv/app; test -e /bin/vi || echo vi-gone; cat /opq/new; test -e /etc/gone || echo etc-gone;
             stat -c %i /newfile /hardlink | uniq | wc -l'
        assert_status 0
        [ "$output" = "new
only
vi-gone
new
etc-gone
1" ]
    done
    # the container's Cmd, Env and WorkingDir: running the image runs it again
    run b run --rm "mine:$1"
    assert_output_has "^ran:yes:/srv$"
    run b history "mine:$1"
    assert_output_has "burrow commit c-$1 +from $1"
    run b inspect "mine:$1"
    [ "$(jq -r '.[0].Id' <<<"$output")" = "$new" ] || [ "$(jq -r '.[0].Id' <<<"$output")" = "${new#sha256:}" ]
    [ "$(jq -r '.[0].Author' <<<"$output")" = tester ]
    # export: the merged tree as a tar
    b export "c-$1" >"$BATS_TEST_TMPDIR/x.tar"
    tar tf "$BATS_TEST_TMPDIR/x.tar" >"$BATS_TEST_TMPDIR/list"
    grep -qx newfile "$BATS_TEST_TMPDIR/list"
    grep -qx srv/app/only "$BATS_TEST_TMPDIR/list"
    ! grep -qx srv/app/file "$BATS_TEST_TMPDIR/list"
    ! grep -qx bin/vi "$BATS_TEST_TMPDIR/list"
    ! grep -q '\.wh\.' "$BATS_TEST_TMPDIR/list"
    [ "$(tar xOf "$BATS_TEST_TMPDIR/x.tar" etc/passwd | head -1)" = "root:x:0:0:root:/root:/bin/sh" ]
    b rm "c-$1" >/dev/null
    b rmi "mine:$1" >/dev/null
}

@test "commit: a new image with the container's changes (deletions and opaque directories too) and its Cmd/Env; export" {
    commit_and_check overlay
}

@test "commit and export of a container on fuse-overlayfs" {
    fuse_usable || skip "/dev/fuse is not usable by $(id -un) or fuse-overlayfs is missing (see burrow info)"
    commit_and_check fuse-overlayfs
}

@test "vfs: the tree is the image's; the container's changes stay its own; commit and export" {
    run b run --rm --storage-driver vfs oci:img sh -c 'cat /opq/new; test -e /opq/old || echo old-gone; test -e /etc/gone || echo gone'
    assert_status 0
    [ "$output" = "new
old-gone
gone" ]
    commit_and_check vfs
    run b info
    assert_output_has "^storage driver"
}

@test "export: -o writes a file whole; a terminal is refused; a running container can be exported" {
    b run -d --name live oci:img sh -c 'echo live > /live; sleep 12345' >/dev/null
    for _ in $(seq 50); do b exec live test -e /live 2>/dev/null && break; sleep 0.1; done
    run b export -o "$BATS_TEST_TMPDIR/live.tar" live
    assert_status 0
    [ "$(tar xOf "$BATS_TEST_TMPDIR/live.tar" live)" = live ]
    [ -z "$(ls "$BATS_TEST_TMPDIR" | grep burrow-tmp)" ]
    run b export -o /nonexistent/dir/x.tar live
    assert_status 125
    assert_output_has "/nonexistent/dir"
    run b commit live
    assert_status 0
    run b commit nosuch img
    assert_status 125
    assert_output_has "no container \`nosuch\`"
    run b commit live 'Bad Name'
    assert_status 125
    b rm -f live >/dev/null
}

@test "cp: into and out of a stopped and a running container, docker's destination rules, - as a tar stream, errors" {
    h="$BATS_TEST_TMPDIR/h"
    mkdir -p "$h/dir/sub"
    echo one >"$h/dir/a"
    echo two >"$h/dir/sub/b"
    echo file >"$h/file"
    b create --name stopped oci:img sh -c 'cat /dir/a /dir/sub/b /renamed /contents/a; stat -c "%u:%g" /dir/a' >/dev/null
    b cp "$h/dir" stopped:/          # into an existing directory
    b cp "$h/file" stopped:/renamed  # to a new name
    b cp "$h/dir/." stopped:/contents
    run b start -a stopped
    assert_status 0
    [ "$output" = "one
two
file
one
0:0" ]
    # out: a new name, an existing directory, a stream
    b cp stopped:/dir "$h/back"
    [ "$(cat "$h/back/sub/b")" = two ]
    [ "$(stat -c %u "$h/back/a")" = "$(id -u)" ]
    mkdir "$h/into"
    b cp stopped:/etc/passwd "$h/into"
    [ "$(head -1 "$h/into/passwd")" = "root:x:0:0:root:/root:/bin/sh" ]
    [ "$(b cp stopped:/dir - | tar tf - | sort | tr '\n' ' ')" = "dir/ dir/a dir/sub/ dir/sub/b " ]
    tar cf - -C "$h" file | b cp - stopped:/srv
    b cp stopped:/srv/file "$h/again"
    [ "$(cat "$h/again")" = file ]
    # a running one: its own mounts (here its /tmp tmpfs) are seen
    b run -d --name live --tmpfs /scratch oci:img sh -c 'echo inside > /scratch/made; sleep 12345' >/dev/null
    for _ in $(seq 50); do b exec live test -e /scratch/made 2>/dev/null && break; sleep 0.1; done
    b cp live:/scratch/made "$h/made"
    [ "$(cat "$h/made")" = inside ]
    b cp "$h/file" live:/scratch/
    run b exec live cat /scratch/file
    [ "$output" = file ]
    # errors name the path and the side
    run b cp stopped:/nonexistent "$h/x"
    assert_status 125
    assert_output_has "\`/nonexistent\` in container stopped: No such file"
    run b cp "$h/nonexistent" stopped:/
    assert_status 125
    assert_output_has "cannot copy \`.*nonexistent\` from the host"
    run b cp "$h/dir" stopped:/etc/passwd
    assert_status 125
    assert_output_has "cannot copy a directory onto the file \`/etc/passwd\`"
    run b cp "$h/file" "$h/other"
    assert_status 125
    assert_output_has "one of .* must be CONTAINER:PATH"
    run b cp "$h/file" nosuch:/
    assert_status 125
    assert_output_has "no container \`nosuch\`"
    b rm -f live stopped >/dev/null
}

@test "volumes: -v NAME:CTR made on first use, filled from the image when empty, kept after rm; volume ls/inspect/rm/prune" {
    run b volume create data
    [ "$output" = data ]
    run b run --rm -v data:/srv/app oci:img sh -c 'cat /srv/app/file; echo mine > /srv/app/mine; id -u > /srv/app/who'
    assert_status 0
    [ "$output" = image ]   # the empty volume got the image's files first
    run b run --rm -v data:/srv/app:ro oci:img sh -c 'cat /srv/app/mine; echo x > /srv/app/no'
    [ "${lines[0]}" = mine ]
    assert_output_has "Read-only file system"
    mp=$(b volume inspect data | jq -r '.[0].Mountpoint')
    [ "$(cat "$mp/mine")" = mine ]
    # made on first use; a container using it keeps it from rm
    b run --name user1 -v fresh:/v oci:img sh -c 'echo 1 > /v/one' >/dev/null
    run b volume ls
    assert_output_has "^fresh +user1$"
    run b volume rm fresh
    assert_status 125
    assert_output_has "volume \`fresh\` is used by container \`user1\`"
    b rm user1 >/dev/null
    run b volume ls -q
    [ "$output" = "data
fresh" ]
    run b volume prune
    [ "$(echo "$output" | sort | tr '\n' ' ')" = "data fresh " ]
    run b volume ls -q
    [ -z "$output" ] || { echo "left: $output" >&2; false; }
    run b volume rm nosuch
    assert_status 125
    assert_output_has "no volume \`nosuch\`"
    run b volume rm -f nosuch
    assert_status 0
    run b volume create 'bad name'
    assert_status 125
}

@test "the image's Volumes: an anonymous volume each, gone with --rm and rm -v; ExposedPorts recorded; --mount" {
    run b run --rm oci:vol
    assert_status 0
    [ "$output" = image ]
    run b volume ls -q
    [ -z "$output" ] || { echo "left: $output" >&2; false; }   # --rm took the anonymous volume along
    b run --name keep oci:vol >/dev/null
    [ "$(b volume ls -q | wc -l)" = 1 ]
    run b inspect keep
    [ "$(jq -r '.[0].Config.ExposedPorts | keys[0]' <<<"$output")" = 8080/tcp ]
    [ "$(jq -r '.[0].Mounts[0].Destination' <<<"$output")" = /srv/app ]
    [ "$(jq -r '.[0].Mounts[0].Type' <<<"$output")" = volume ]
    b rm -v keep >/dev/null
    run b volume ls -q
    [ -z "$output" ]
    # a -v on the same path replaces the anonymous volume
    run b run --rm -v named:/srv/app oci:vol
    [ "$output" = image ]
    [ "$(b volume ls -q)" = named ]
    b volume rm named >/dev/null
    mkdir "$BATS_TEST_TMPDIR/src"
    echo bound >"$BATS_TEST_TMPDIR/src/f"
    run b run --rm --mount "type=bind,source=$BATS_TEST_TMPDIR/src,target=/b,readonly" \
        --mount type=volume,source=mv,target=/v --mount type=tmpfs,target=/t,tmpfs-size=1m oci:img \
        sh -c 'cat /b/f; touch /b/x 2>&1 | grep -c Read-only; touch /v/ok && echo vol; df -k /t | tail -1'
    assert_status 0
    [ "${lines[0]}" = bound ]
    [ "${lines[1]}" = 1 ]
    [ "${lines[2]}" = vol ]
    assert_output_has "^tmpfs +1024 "
    b volume rm mv >/dev/null
    run b run --rm --mount type=bind,target=/x oci:img true
    assert_status 125
    assert_output_has "source=PATH is required"
    run b run --rm --mount type=nfs,target=/x oci:img true
    assert_status 125
    assert_output_has "type is bind, volume or tmpfs"
}

@test "--device binds a device node you can open; others and non-devices are refused; --pid=host sees the host's processes" {
    run b run --rm --device /dev/null:/dev/mynull oci:img sh -c 'echo x > /dev/mynull && ls -l /dev/mynull'
    assert_status 0
    assert_output_has "^c.* 1, +3 .*/dev/mynull$"
    run b run --rm --device "$BATS_TEST_TMPDIR" oci:img true
    assert_status 125
    assert_output_has "not a device node"
    if [ "$(id -u)" != 0 ] && [ -e /dev/mem ]; then
        run b run --rm --device /dev/mem oci:img true
        assert_status 125
        assert_output_has "you cannot open it on the host"
    fi
    sleep 12346 3>&- &
    host_pid=$!
    run b run --rm --pid=host oci:img sh -c "kill -0 $host_pid && echo sees; (sleep 12345 &); true"
    kill $host_pid
    assert_status 0
    [ "$output" = sees ]
    # what the container left running died with it (the teardown checks for sleep 12345)
    run b run --rm oci:img sh -c "kill -0 $host_pid 2>/dev/null || echo hidden"
    [ "$output" = hidden ]
}

@test "ps --format (fields, table, json) and --filter (status, exited, name, ancestor, volume); bad ones are refused" {
    b run --name ok oci:img true
    b run --name three oci:img sh -c 'exit 3' || true
    b run -d --name up -v psvol:/v oci:img sleep 12345 >/dev/null
    run b ps --format '{{.Names}} {{ .State }}'
    [ "$output" = "up running" ]
    run b ps -a --format 'table {{.Names}}\t{{.Status}}'
    [ "${lines[0]}" = "$(printf 'NAMES\tSTATUS')" ]
    assert_output_has "^three	Exited \(3\) "
    assert_output_has "^up	Up "
    run b ps -a -f status=exited -f exited=3 --format '{{.Names}}'
    [ "$output" = three ]
    run b ps -f exited=0 --format '{{.Names}}'   # a status filter looks at stopped ones without -a
    [ "$output" = ok ]
    run b ps -a -f name=thr -f name=ok --format '{{.Names}}'
    [ "$(echo "$output" | sort | tr '\n' ' ')" = "ok three " ]
    run b ps -a -f ancestor=oci:img -q
    [ "$(echo "$output" | wc -l)" = 3 ]
    run b ps -a -f volume=psvol --format json
    [ "$(jq -r .Names <<<"$output")" = up ]
    [ "$(jq -r .Mounts <<<"$output")" = psvol ]
    run b ps --format '{{.Nope}}'
    assert_status 125
    assert_output_has "not a field I know"
    run b ps -f colour=red
    assert_status 125
    assert_output_has "unknown filter"
    b rm -f up ok three >/dev/null
    b volume rm psvol >/dev/null
}

@test "kill -9 of the -d supervisor: the container, its FUSE daemon and its mounts go; ps shows it exited; rm works" {
    for driver in overlay $(fuse_usable && echo fuse-overlayfs); do
        id=$(b run -d --name "sv-$driver" --storage-driver $driver oci:img \
            sh -c 'test -e /restarted && exit 0; touch /restarted; exec sleep 12346')
        for _ in $(seq 100); do pgrep -u "$(id -u)" -f '^sleep 12346' >/dev/null && break; sleep 0.1; done
        for _ in $(seq 50); do init=$(b inspect "sv-$driver" | jq -r ".[0].State.Pid"); [ "$init" -gt 0 ] && break; sleep 0.1; done
        supervisor=$(awk '/^PPid:/ { print $2 }' "/proc/$init/status")
        [ "$supervisor" -gt 1 ]
        tr "\\0" " " <"/proc/$supervisor/cmdline" | grep -q "run -d --name sv-$driver"
        kill -9 "$supervisor"
        for _ in $(seq 50); do pgrep -u "$(id -u)" -f '^sleep 12346' >/dev/null || break; sleep 0.1; done
        ! pgrep -u "$(id -u)" -f '^sleep 12346'
        for _ in $(seq 50); do pgrep -u "$(id -u)" -x fuse-overlayfs >/dev/null || break; sleep 0.1; done
        ! pgrep -u "$(id -u)" -x fuse-overlayfs
        ! grep -q "$STORE" /proc/self/mountinfo
        run b ps -a
        assert_output_has "Exited \(unknown\) +sv-$driver$"
        run b exec "sv-$driver" true
        assert_status 125
        run b start -a "sv-$driver"   # it runs again, on the layer it had
        assert_status 0
        run b rm "sv-$driver"
        assert_status 0
    done
}

@test "32 burrow run --rm in parallel on one store: each exits 0 with its own output" {
    for i in $(seq 32); do
        "$BURROW" --root "$STORE" run --rm oci:img sh -c "echo run-$i" >"$BATS_TEST_TMPDIR/out.$i" 2>&1 3>&- &
    done
    fails=0
    for job in $(jobs -p); do wait "$job" || fails=$((fails + 1)); done
    [ "$fails" = 0 ] || { cat "$BATS_TEST_TMPDIR"/out.* >&2; false; }
    for i in $(seq 32); do
        [ "$(cat "$BATS_TEST_TMPDIR/out.$i")" = "run-$i" ] || { echo "run $i: $(cat "$BATS_TEST_TMPDIR/out.$i")" >&2; false; }
    done
    run b ps -a -q
    [ -z "$output" ]
    [ -z "$(ls -A "$STORE/containers")" ]
}

@test "an image whose config is broken: a clear error naming it, exit 125, no container made" {
    # the same layout with Env holding a number: digest-correct, so only burrow run can object
    bad="$BATS_TEST_TMPDIR/bad"
    cp -a "$LAYOUT" "$bad"
    manifest=$(jq -r '.manifests[] | select(.annotations["org.opencontainers.image.ref.name"] == "img") | .digest' "$bad/index.json")
    mf="$bad/blobs/sha256/${manifest#sha256:}"
    cfg=$(jq -r .config.digest "$mf")
    jq -c '.config.Env = [1]' "$bad/blobs/sha256/${cfg#sha256:}" >"$BATS_TEST_TMPDIR/config.json"
    new=$(sha256sum "$BATS_TEST_TMPDIR/config.json" | cut -d' ' -f1)
    cp "$BATS_TEST_TMPDIR/config.json" "$bad/blobs/sha256/$new"
    jq -c --arg d "sha256:$new" --argjson s "$(stat -c %s "$BATS_TEST_TMPDIR/config.json")" '.config.digest = $d | .config.size = $s' \
        "$mf" >"$BATS_TEST_TMPDIR/manifest.json"
    mnew=$(sha256sum "$BATS_TEST_TMPDIR/manifest.json" | cut -d' ' -f1)
    cp "$BATS_TEST_TMPDIR/manifest.json" "$bad/blobs/sha256/$mnew"
    jq -c --arg d "sha256:$mnew" --argjson s "$(stat -c %s "$BATS_TEST_TMPDIR/manifest.json")" \
        '.manifests = [.manifests[] | select(.annotations["org.opencontainers.image.ref.name"] == "img") |
          .digest = $d | .size = $s | .annotations["org.opencontainers.image.ref.name"] = "broken"]' \
        "$bad/index.json" >"$BATS_TEST_TMPDIR/index.json"
    cp "$BATS_TEST_TMPDIR/index.json" "$bad/index.json"
    b load -i "$bad" >/dev/null
    run b run --rm bad:broken true
    assert_status 125
    assert_output_has "the image's Env holds something that is not a string"
    run b create bad:broken true
    assert_status 125
    run b ps -a -q
    [ -z "$output" ]
}

@test "run -dit, then attach: typing reaches it, ctrl-p ctrl-q detaches and leaves it running; its exit code ends attach" {
    command -v script >/dev/null || skip "script(1) missing (bsdutils): it gives attach a terminal"
    b run -dit --name term oci:img sh >/dev/null
    run bash -c "(sleep 0.5; printf 'echo hello-\$((6*7))\r'; sleep 0.5; printf '\020\021') |
                 script -qec '$BURROW --root $STORE attach term' /dev/null"
    assert_status 0
    assert_output_has "^hello-42"
    run b ps --format '{{.Names}} {{.State}}'
    [ "$output" = "term running" ]
    # other keys, and the container's end
    run bash -c "(sleep 0.5; printf '\030'; sleep 0.3; printf 'exit 3\r'; sleep 2) |
                 script -qec '$BURROW --root $STORE attach --detach-keys ctrl-x term; echo attach-status=\$?' /dev/null"
    assert_output_has "attach-status=0"   # ctrl-x detached before exit was typed
    run bash -c "(sleep 0.5; printf 'exit 3\r'; sleep 2) |
                 script -qec '$BURROW --root $STORE attach term; echo attach-status=\$?' /dev/null"
    assert_output_has "attach-status=3"
    run b logs term
    assert_output_has "hello-42"
    b rm term >/dev/null
    # no terminal, nothing to attach to; bad keys
    b run -d --name quiet oci:img sleep 12345 >/dev/null
    run b attach quiet
    assert_status 125
    assert_output_has "not started with -t .*burrow logs -f quiet"
    run b attach --detach-keys ctrl-1 quiet
    assert_status 125
    assert_output_has "not a control key"
    b rm -f quiet >/dev/null
    run b attach quiet
    assert_status 125
}
