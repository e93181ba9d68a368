#!/usr/bin/env bash
# valgrind memcheck of the example programs: rak_server --echo, rak_client --expect-echo
# (a few messages) and rak_ping, each under valgrind. Any invalid access, use of
# uninitialised memory or definite leak fails the test (valgrind exits 99); Rust's
# runtime keeps some "still reachable" allocations, which are not errors.
#
#   memcheck.sh <valgrind> <rak_server> <rak_client> <rak_ping>
set -euo pipefail

valgrind_bin=$1
server_bin=$2
client_bin=$3
ping_bin=$4
work=$(mktemp -d)
server_pid=

vg=("$valgrind_bin" --quiet --error-exitcode=99 --leak-check=full
    --errors-for-leak-kinds=definite --show-leak-kinds=definite --track-origins=yes)

cleanup() {
    if [ -n "$server_pid" ]; then
        kill -KILL "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT

fail() {
    echo "FAIL: $*" >&2
    for log in "$work"/*.log; do
        echo "--- $log" >&2
        cat "$log" >&2
    done
    exit 1
}

# SIGTERM at the end shuts the server down cleanly; --quit-after-ms is a safety net.
: >"$work/server.log"
"${vg[@]}" "$server_bin" --host 127.0.0.1 --port 0 --echo --quit-after-ms 40000 \
    >"$work/server.log" 2>&1 &
server_pid=$!
port=
for _ in $(seq 1 400); do
    port=$(sed -n 's/^listening port=\([0-9]*\) .*/\1/p' "$work/server.log")
    [ -n "$port" ] && break
    kill -0 "$server_pid" 2>/dev/null || fail "server exited early"
    sleep 0.05
done
[ -n "$port" ] || fail "server did not print its port"

"${vg[@]}" "$client_bin" --host 127.0.0.1 --port "$port" --count 20 --size 2000 \
    --expect-echo --timeout-ms 30000 >"$work/client.log" 2>&1 ||
    fail "rak_client under valgrind exited with $?"
grep -q '^received all 20 echoes intact$' "$work/client.log" || fail "echoes missing"
echo "ok: rak_client"

"${vg[@]}" "$ping_bin" --host 127.0.0.1 --port "$port" --timeout-ms 10000 \
    >"$work/ping.log" 2>&1 || fail "rak_ping under valgrind exited with $?"
echo "ok: rak_ping"

kill -TERM "$server_pid"
rc=0
wait "$server_pid" || rc=$?
server_pid=
[ "$rc" -eq 0 ] || fail "rak_server under valgrind exited with $rc"
echo "ok: rak_server"
