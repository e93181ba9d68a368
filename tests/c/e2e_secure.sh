#!/usr/bin/env bash
# End-to-end secure mode through the example programs: rak_server --key-file creates a
# key pair (and loads the same one on restart) and prints "public-key: HEX";
# rak_client --server-key HEX gets its echoes back over an encrypted connection (also
# split messages, and over the simulator's lossy, duplicating link), --secure trusts on
# first use; and every refusal is explained in words: a wrong pinned key ("public key
# mismatch"), a plain client at --require-secure ("security mismatch"), a secure client
# at a plain server ("server not secure"), a client without a key pair at
# --require-client-key ("client key required"; with --key-file it connects and the
# server prints its key). Bad flags are refused before anything starts.
#
#   e2e_secure.sh <rak_server> <rak_client>
set -euo pipefail

server_bin=$1
client_bin=$2
# work, pids, cleanup, fail, start_server, expect_ok, expect_refusal
# shellcheck source=tests/c/e2e_lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/e2e_lib.sh"

# The 64 hex digits after "public-key: " in a log.
public_key() {
    sed -n 's/^public-key: \([0-9a-f]\{64\}\)$/\1/p' "$work/$1"
}

client() {
    "$client_bin" --host 127.0.0.1 "$@"
}

# --- a secure server with a new key file --------------------------------------------
start_server secure.log --key-file "$work/server.key" --echo --max-connections 8
secure_port=$port
key=$(public_key secure.log)
[ -n "$key" ] || fail "rak_server printed no public-key line"
[ -f "$work/server.key" ] || fail "rak_server did not create its key file"
# Unix only (rak_key_pair_save's doc): a Windows file has no mode, only an ACL.
if [ "${RAKNET_E2E_WINDOWS:-0}" = 1 ]; then
    skip_check e2e_secure "the key file's mode 0600" "Windows build: no Unix modes"
else
    [ "$(stat -c %a "$work/server.key")" = 600 ] || fail "the key file is not mode 0600"
fi
grep -q "^public-key: $key$" "$work/server.key" || fail "the key file lacks the public key"
echo "ok: key file created, public key $key"

expect_ok pinned client --port "$secure_port" --server-key "$key" --count 100 --size 300 \
    --reliability reliable_ordered --channel 3 --expect-echo
grep -q "^connected to 127.0.0.1:$secure_port guid=[0-9a-f]* secure server-key=$key$" \
    "$work/pinned.log" || fail "pinned: no secure connected line"
grep -q '^received all 100 echoes intact$' "$work/pinned.log" || fail "pinned: echoes missing"
grep -q '^connected conn=.* incoming secure$' "$work/secure.log" ||
    fail "the server did not print the connection as secure"

# Split messages: the secure MTU budget is 24 bytes smaller.
expect_ok pinned-split client --port "$secure_port" --server-key "$key" --count 20 --size 5000 \
    --expect-echo
expect_ok pinned-unreliable client --port "$secure_port" --server-key "$key" --count 50 \
    --size 100 --reliability unreliable_sequenced --expect-echo

# Trust on first use: no pin, the key the server proved is printed.
expect_ok tofu client --port "$secure_port" --secure --count 10 --expect-echo
grep -q "secure server-key=$key$" "$work/tofu.log" || fail "tofu: wrong or missing server key"

# A plain client still connects to a server that does not require secure mode.
expect_ok plain-to-secure client --port "$secure_port" --count 10 --expect-echo
grep -q 'secure' "$work/plain-to-secure.log" && fail "plain client reported a secure connection"

# A pinned key that is not the server's.
wrong=$( [ "${key:0:1}" = 0 ] && echo 1 || echo 0 )${key:1}
expect_refusal wrong-key "connection refused: public key mismatch" \
    client --port "$secure_port" --server-key "$wrong" --count 1
expect_refusal bad-hex "64 hex digits" client --port "$secure_port" --server-key abc --count 1

# The same key file again: the same key pair is loaded, not replaced.
start_server secure-again.log --key-file "$work/server.key" --max-connections 2
[ "$(public_key secure-again.log)" = "$key" ] || fail "the key file was not loaded on restart"
echo "ok: key file loaded on restart"

# --- refusals -------------------------------------------------------------------------
start_server require-secure.log --key-file "$work/server.key" --require-secure --echo
expect_refusal plain-at-require-secure "connection refused: security mismatch" \
    client --port "$port" --count 1
expect_ok secure-at-require-secure client --port "$port" --server-key "$key" --count 10 \
    --expect-echo

start_server plain.log --echo
expect_refusal secure-at-plain "connection refused: server not secure" \
    client --port "$port" --secure --count 1
expect_refusal pinned-at-plain "connection refused: server not secure" \
    client --port "$port" --server-key "$key" --count 1

start_server require-key.log --key-file "$work/server.key" --require-client-key --echo
expect_refusal keyless-at-require-key "connection refused: client key required" \
    client --port "$port" --server-key "$key" --count 1
expect_ok keyed-at-require-key client --port "$port" --server-key "$key" \
    --key-file "$work/client.key" --count 10 --expect-echo
client_key=$(public_key keyed-at-require-key.log)
[ -n "$client_key" ] || fail "the client printed no public-key line"
[ "$client_key" != "$key" ] || fail "the client got the server's key pair"
grep -q "^connected conn=.* incoming secure client-key=$client_key$" "$work/require-key.log" ||
    fail "the server did not print the client's key"
# --key-file alone connects securely too (no pin), with the same client key.
expect_ok keyed-tofu client --port "$port" --key-file "$work/client.key" --count 1
[ "$(public_key keyed-tofu.log)" = "$client_key" ] || fail "the client key file was not reused"

if "$server_bin" --port 0 --require-secure >"$work/no-key-file.log" 2>&1; then
    fail "rak_server accepted --require-secure without --key-file"
fi
grep -q -- '--require-secure needs --key-file' "$work/no-key-file.log" ||
    fail "rak_server did not explain --require-secure without --key-file"
if "$server_bin" --port 0 --require-client-key >"$work/no-key-file2.log" 2>&1; then
    fail "rak_server accepted --require-client-key without --key-file"
fi
echo "ok: --require-* need --key-file"

# --- a lossy, duplicating, reordering link: decryption and replay protection hold -----
sim=(--sim-loss 10 --sim-dup 5 --sim-latency-ms 5 --sim-jitter-ms 5 --sim-reorder 2)
start_server sim.log --key-file "$work/server.key" --require-secure --echo "${sim[@]}"
expect_ok sim-pinned client --port "$port" --server-key "$key" --count 200 --size 300 \
    --reliability reliable_ordered --expect-echo --timeout-ms 30000 "${sim[@]}"
grep -q '^received all 200 echoes intact$' "$work/sim-pinned.log" ||
    fail "sim-pinned: not every echo arrived"

# Every secure server saw its clients leave cleanly.
kill -TERM "${pids[0]}"
wait "${pids[0]}" || fail "the secure server did not exit cleanly on SIGTERM"
pids=("${pids[@]:1}")
grep -q '^disconnected conn=.* reason=closed by remote$' "$work/secure.log" ||
    fail "the secure server printed no disconnect"
echo "e2e secure: all passed"
