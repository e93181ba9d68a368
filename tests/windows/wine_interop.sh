#!/usr/bin/env bash
# The Windows build talks to the Linux build over loopback: the Linux rak_server --echo
# with the Windows rak_client.exe under wine, then the Windows rak_server.exe under wine
# with the Linux rak_client. Each way: 300 reliable ordered messages, one 1 MiB message
# (split into some 750 fragments), and a secure connection pinned to the server's key,
# every echo checked (--expect-echo) and every connection closed cleanly on both sides
# (the client's "disconnected", the server's "reason=closed by remote"); then the server
# stops cleanly on SIGTERM (under wine: Ctrl-C, by the launcher). Waits are on output
# lines, each with a deadline.
#
#   tests/windows/wine_interop.sh <Linux CMake build dir> <Windows CMake build dir>
#
# The Windows build is the MinGW cross build (cmake/toolchains/mingw-w64-x86_64.cmake),
# whose build/wine-bin/ launchers run its programs under wine with the test-only
# ProcessPrng stand-in beside them. Loopback only.
set -euo pipefail

linux=$(cd "${1:?usage: wine_interop.sh LINUX_BUILD WINDOWS_BUILD}" && pwd)
windows=$(cd "${2:?usage: wine_interop.sh LINUX_BUILD WINDOWS_BUILD}" && pwd)
for p in "$linux/bin/rak_server" "$linux/bin/rak_client" "$windows/wine-bin/rak_server" \
    "$windows/wine-bin/rak_client"; do
    [ -x "$p" ] || { echo "wine_interop: $p is missing (build both first)" >&2; exit 1; }
done

work=$(mktemp -d)
server_pid=
passed=0
cleanup() {
    if [ -n "$server_pid" ]; then
        kill -TERM "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT
cd "$work" # key files are named relative to it: the same path for both builds

fail() {
    echo "FAIL: $*" >&2
    for log in "$work"/*.log; do
        [ -f "$log" ] || continue
        echo "--- $log" >&2
        tail -n 40 "$log" >&2
    done
    exit 1
}

# wait_log FILE REGEX SECONDS: true once FILE has a line matching REGEX (extended).
wait_log() {
    local i
    for i in $(seq 1 $(($3 * 20))); do
        grep -Eq -- "$2" "$1" 2>/dev/null && return 0
        if [ -n "$server_pid" ] && ! kill -0 "$server_pid" 2>/dev/null; then break; fi
        sleep 0.05
    done
    grep -Eq -- "$2" "$1" 2>/dev/null
}

# server NAME BINARY ARGS...: starts it on a free loopback port; sets $port.
server() {
    local name=$1 bin=$2
    shift 2
    : >"$name.log"
    "$bin" --host 127.0.0.1 --port 0 --echo "$@" >>"$name.log" 2>&1 &
    server_pid=$!
    wait_log "$name.log" '^listening port=[0-9]+ ' 60 || fail "$name: no listening line within 60 s"
    port=$(sed -n 's/^listening port=\([0-9]*\) .*/\1/p' "$name.log")
}

# stop_server NAME: SIGTERM, then a clean exit with "shutting down" within 30 s.
stop_server() {
    local name=$1 i
    kill -TERM "$server_pid"
    for i in $(seq 1 600); do
        kill -0 "$server_pid" 2>/dev/null || break
        sleep 0.05
    done
    kill -0 "$server_pid" 2>/dev/null && fail "$name: still running 30 s after SIGTERM"
    wait "$server_pid" || fail "$name: exit status $? after SIGTERM"
    server_pid=
    grep -q '^shutting down$' "$name.log" || fail "$name: no 'shutting down' line"
}

# client NAME SERVER_LOG BINARY ARGS...: one connection that must succeed with every
# echo intact and a clean close, which the server must see too.
client() {
    local name=$1 slog=$2 bin=$3 n
    shift 3
    timeout -k 5 180 "$bin" --host 127.0.0.1 --port "$port" --expect-echo "$@" >"$name.log" 2>&1 ||
        fail "$name: exit status $?"
    grep -Eq '^received all [0-9]+ echoes intact$' "$name.log" || fail "$name: echoes missing"
    grep -q '^disconnected$' "$name.log" || fail "$name: no clean disconnect"
    n=$(grep -c '^connected conn=' "$slog")
    wait_log "$slog" "$(printf '^disconnected conn=.* reason=closed by remote$')" 30 ||
        fail "$name: the server did not see the close"
    [ "$(grep -c '^disconnected conn=.* reason=closed by remote$' "$slog")" = "$n" ] ||
        fail "$name: the server saw $n connections but not as many clean closes"
    echo "ok: $name"
    passed=$((passed + 1))
}

# one_way TAG SERVER CLIENT: the three connections against one server, then a secure one.
one_way() {
    local tag=$1 sbin=$2 cbin=$3 key
    server "$tag-server" "$sbin"
    client "$tag-ordered" "$tag-server.log" "$cbin" --count 300 --size 200 \
        --reliability reliable_ordered --channel 3
    client "$tag-split-1MiB" "$tag-server.log" "$cbin" --count 1 --size 1048576
    grep -q '^message conn=.* len=1048576 ' "$tag-server.log" ||
        fail "$tag: the server did not get the 1 MiB message whole"
    stop_server "$tag-server"

    server "$tag-secure-server" "$sbin" --key-file "$tag.key"
    key=$(sed -n 's/^public-key: \([0-9a-f]\{64\}\)$/\1/p' "$tag-secure-server.log")
    [ -n "$key" ] || fail "$tag: the secure server printed no public key"
    client "$tag-secure" "$tag-secure-server.log" "$cbin" --server-key "$key" --count 100 \
        --size 3000
    grep -q "secure server-key=$key" "$tag-secure.log" || fail "$tag-secure: not secure"
    stop_server "$tag-secure-server"
}

echo "== Linux rak_server, Windows rak_client.exe (wine)"
one_way linux-to-windows "$linux/bin/rak_server" "$windows/wine-bin/rak_client"
echo "== Windows rak_server.exe (wine), Linux rak_client"
one_way windows-to-linux "$windows/wine-bin/rak_server" "$linux/bin/rak_client"
echo "wine interop: $passed passed, 0 failed"
