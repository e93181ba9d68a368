#!/usr/bin/env bash
# End-to-end through the example programs: rak_server --echo on a free port (it binds
# port 0 and prints the port), rak_client --expect-echo for every reliability,
# rak_ping, the refusals a client must explain in words, rak_server --ban,
# rak_client --hold-ms and --first-byte, and LAN discovery with rak_ping --broadcast
# (two servers sharing a port answer one broadcast). With a fourth argument
# `sim`, only the lossy-link case: server and client both run the library's network
# simulator at 10 % loss (plus duplication and jitter) in both directions.
#
#   e2e.sh <rak_server> <rak_client> <rak_ping> [sim]
set -euo pipefail

server_bin=$1
client_bin=$2
ping_bin=$3
# work, pids, cleanup, fail, start_server, expect_ok, expect_refusal
# shellcheck source=tests/c/e2e_lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/e2e_lib.sh"

if [ "${4:-}" = sim ]; then
    sim=(--sim-loss 10 --sim-dup 2 --sim-latency-ms 5 --sim-jitter-ms 5 --sim-reorder 1)
    start_server sim-server.log --echo --max-connections 4 "${sim[@]}"
    for r in reliable_ordered reliable_with_ack_receipt; do
        expect_ok "sim-client-$r" "$client_bin" --host 127.0.0.1 --port "$port" --count 200 \
            --size 300 --reliability "$r" --channel 2 --expect-echo --timeout-ms 30000 "${sim[@]}"
        grep -q '^received all 200 echoes intact$' "$work/sim-client-$r.log" ||
            fail "sim-client-$r: not every echo arrived"
    done
    # Sequenced kinds on the lossy link: older echoes are superseded by design, so the
    # client passes when none is older than one already seen and (RELIABLE_SEQUENCED) the
    # newest comes back; it must not count superseded ones as missing.
    for r in reliable_sequenced unreliable_sequenced; do
        expect_ok "sim-client-$r" "$client_bin" --host 127.0.0.1 --port "$port" --count 1000 \
            --size 100 --reliability "$r" --channel 3 --expect-echo --timeout-ms 30000 "${sim[@]}"
    done
    grep -q '^received [0-9]* of 1000 sequenced echoes, [0-9]* superseded or lost, newest arrived$' \
        "$work/sim-client-reliable_sequenced.log" ||
        fail "sim-client-reliable_sequenced: the newest echo did not arrive"
    # The simulator did drop datagrams, so the reliability layer did repair losses.
    grep -q '^simulator out: [0-9]* datagrams, [1-9][0-9]* lost' \
        "$work/sim-client-reliable_ordered.log" || fail "the client's simulator dropped nothing"
    kill -TERM "${pids[-1]}"
    wait "${pids[-1]}" || fail "sim server did not exit cleanly on SIGTERM"
    unset 'pids[-1]'
    grep -q '^simulator out: [0-9]* datagrams, [1-9][0-9]* lost' "$work/sim-server.log" ||
        fail "the server's simulator dropped nothing"
    echo "e2e sim: all passed"
    exit 0
fi

start_server server.log --echo --max-connections 8 --password secret --offline-data "e2e server"
echo_port=$port

expect_ok ping "$ping_bin" --host 127.0.0.1 --port "$echo_port"
grep -q 'data="e2e server"' "$work/ping.log" || fail "pong lacks the offline data"

for r in unreliable unreliable_sequenced reliable reliable_ordered reliable_sequenced \
    unreliable_with_ack_receipt reliable_with_ack_receipt reliable_ordered_with_ack_receipt; do
    expect_ok "client-$r" "$client_bin" --host 127.0.0.1 --port "$echo_port" --password secret \
        --count 100 --size 200 --reliability "$r" --channel 7 --expect-echo
done

# Two clients at once, one with messages that must be split.
"$client_bin" --host 127.0.0.1 --port "$echo_port" --password secret --count 20 --size 5000 \
    --expect-echo >"$work/client-split.log" 2>&1 &
split_pid=$!
expect_ok client-parallel "$client_bin" --host 127.0.0.1 --port "$echo_port" --password secret \
    --count 500 --size 64 --reliability reliable --expect-echo
wait "$split_pid" || fail "client-split exited with $?"
echo "ok: client-split"

expect_refusal wrong-password "connection refused: invalid password" \
    "$client_bin" --host 127.0.0.1 --port "$echo_port" --password wrong --count 1
expect_refusal wrong-protocol "incompatible protocol version" \
    "$client_bin" --host 127.0.0.1 --port "$echo_port" --password secret --protocol 11 --count 1

# Another first byte (the interop suite needs 0xfe), echoed intact.
expect_ok client-first-byte "$client_bin" --host 127.0.0.1 --port "$echo_port" --password secret \
    --count 20 --size 40 --first-byte 0xfe --expect-echo

# --ban: a matching wildcard is refused in words; a pattern that does not match is not.
start_server banned.log --max-connections 4 --ban '127.0.0.*' --ban '[::5]:60' --ban 10.1.2.3:5
grep -q '^banned pattern=127.0.0.\* seconds=0$' "$work/banned.log" || fail "no banned line"
grep -q '^banned pattern=::5 seconds=60$' "$work/banned.log" || fail "no IPv6 banned line"
expect_refusal client-banned "connection refused: banned" \
    "$client_bin" --host 127.0.0.1 --port "$port" --count 1
start_server not-banned.log --max-connections 4 --ban '10.*.*.*'
expect_ok client-not-banned "$client_bin" --host 127.0.0.1 --port "$port" --count 1
if "$server_bin" --port 0 --ban 1.2.3 >"$work/bad-ban.log" 2>&1; then
    fail "rak_server accepted a malformed --ban"
fi
echo "ok: --ban"

# --hold-ms: the client keeps its connection (and so the server's only slot) open after
# its messages; meanwhile a second client is refused, afterwards the first disconnects.
start_server hold.log --max-connections 1 --echo
hold_port=$port
"$client_bin" --host 127.0.0.1 --port "$hold_port" --count 2 --expect-echo --hold-ms 1500 \
    >"$work/client-hold.log" 2>&1 &
hold_pid=$!
for _ in $(seq 1 100); do
    grep -q '^holding the connection for 1500 ms$' "$work/client-hold.log" && break
    sleep 0.05
done
grep -q '^holding the connection' "$work/client-hold.log" || fail "client-hold did not hold"
expect_refusal held-slot "connection refused: server full" \
    "$client_bin" --host 127.0.0.1 --port "$hold_port" --count 1
grep -q '^disconnected ' "$work/hold.log" && fail "the held connection ended early"
wait "$hold_pid" || fail "client-hold exited with $?"
grep -q '^disconnected$' "$work/client-hold.log" || fail "client-hold did not disconnect"
for _ in $(seq 1 100); do
    grep -q '^disconnected conn=.* reason=closed by remote$' "$work/hold.log" && break
    sleep 0.05
done
grep -q '^disconnected conn=.* reason=closed by remote$' "$work/hold.log" ||
    fail "the server did not see the held connection close"
echo "ok: --hold-ms"

# LAN discovery: two servers share one port (0.0.0.0, SO_REUSEADDR); one broadcast
# ping finds both.
start_server lan-a.log --bind 0.0.0.0 --reuse-address --offline-data "lan a"
lan_port=$port
start_server lan-b.log --bind 0.0.0.0 --port "$lan_port" --reuse-address --offline-data "lan b"
[ "$port" = "$lan_port" ] || fail "the second LAN server bound port $port, not $lan_port"
expect_ok ping-broadcast "$ping_bin" --broadcast --port "$lan_port" --timeout-ms 1500
grep -q 'data="lan a"' "$work/ping-broadcast.log" || fail "server a did not answer the broadcast"
grep -q 'data="lan b"' "$work/ping-broadcast.log" || fail "server b did not answer the broadcast"
grep -q '^2 server(s) answered' "$work/ping-broadcast.log" || fail "not exactly two servers"

start_server full.log --max-connections 0
expect_refusal server-full "connection refused: server full" \
    "$client_bin" --host 127.0.0.1 --port "$port" --count 1

# Nothing listens on a port we just closed.
kill -TERM "${pids[-1]}"
wait "${pids[-1]}" || fail "server did not exit cleanly on SIGTERM"
unset 'pids[-1]'
expect_refusal ping-nobody "no response" "$ping_bin" --host 127.0.0.1 --port "$port" --timeout-ms 500
expect_refusal client-nobody "connection failed: no response" \
    "$client_bin" --host 127.0.0.1 --port "$port" --count 1

grep -q '^connected conn=' "$work/server.log" || fail "server printed no connection"
grep -q '^message conn=.* len=200 channel=7 reliability=reliable_ordered$' "$work/server.log" ||
    fail "server printed no message line"
grep -q '^disconnected conn=.* reason=closed by remote$' "$work/server.log" ||
    fail "server printed no disconnect"
echo "e2e: all passed"
