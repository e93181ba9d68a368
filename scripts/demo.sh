#!/usr/bin/env bash
# Builds everything with the plain CMake flow (library through cargo, header, examples
# into build/bin), then runs a demo on loopback: rak_server --echo, rak_ping, and two
# rak_client processes at once exchanging messages with it.
#
#   scripts/demo.sh            (build directory: build/, or $RAKNET_BUILD_DIR)
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
# shellcheck source=scripts/common.sh
. scripts/common.sh

build=${RAKNET_BUILD_DIR:-build}
ensure_tools

step "cmake -S . -B $build -DCMAKE_BUILD_TYPE=Release && cmake --build $build"
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release
cmake --build "$build" -j "$(njobs)"
bin="$build/bin"

work=$(mktemp -d)
server_pid=
cleanup() {
    if [ -n "$server_pid" ]; then
        kill -TERM "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT

step "demo: one server, two clients on 127.0.0.1"
: >"$work/server.log" # exists before the server's tee opens it, so polling it cannot fail
"$bin/rak_server" --host 127.0.0.1 --port 0 --echo --max-connections 8 \
    --offline-data "libraknet demo server" \
    > >(tee "$work/server.log" | sed -u 's/^/[server]   /') 2>&1 &
server_pid=$!
port=
for _ in $(seq 1 100); do
    port=$(sed -n 's/^listening port=\([0-9]*\) .*/\1/p' "$work/server.log" || true)
    [ -n "$port" ] && break
    sleep 0.05
done
[ -n "$port" ] || die "the server did not start"

"$bin/rak_ping" --host 127.0.0.1 --port "$port" 2>&1 | sed -u 's/^/[ping]     /'

"$bin/rak_client" --host 127.0.0.1 --port "$port" --count 10 --size 100 \
    --reliability reliable_ordered --expect-echo \
    > >(sed -u 's/^/[client A] /') 2>&1 &
a=$!
"$bin/rak_client" --host 127.0.0.1 --port "$port" --count 10 --size 3000 \
    --reliability reliable_sequenced --channel 2 --expect-echo \
    > >(sed -u 's/^/[client B] /') 2>&1 &
b=$!
status=0
wait "$a" || status=1
wait "$b" || status=1

kill -TERM "$server_pid"
wait "$server_pid" || status=1
server_pid=
sleep 0.2 # let the prefixing pipes print their last lines

if [ "$status" -eq 0 ]; then
    step "demo passed: the programs are in $bin/ (rak_server, rak_client, rak_ping, rak_cpp_pair)"
else
    die "demo failed"
fi
