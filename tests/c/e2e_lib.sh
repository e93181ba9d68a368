# Helpers of the end-to-end scripts (e2e.sh, e2e_secure.sh), sourced after they set
# $server_bin: a scratch directory $work removed on exit with every server started,
# fail (prints every log), start_server (waits for the "listening port=" line and sets
# $port), expect_ok and expect_refusal (must fail and print a given text), skip_check.
# RAKNET_E2E_WINDOWS=1 (set by CTest for a Windows build) says the programs are the
# Windows ones, run under wine.
# shellcheck shell=bash

work=$(mktemp -d)
pids=()

cleanup() {
    for pid in "${pids[@]}"; do
        kill -TERM "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
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

# Starts a server with the given options; sets $port to the port it bound.
start_server() {
    local log=$1
    shift
    : >"$work/$log" # exists before the loop below reads it (the child opens it later)
    "$server_bin" --host 127.0.0.1 --port 0 "$@" >>"$work/$log" 2>&1 &
    pids+=("$!")
    port=
    for _ in $(seq 1 100); do
        port=$(sed -n 's/^listening port=\([0-9]*\) .*/\1/p' "$work/$log")
        [ -n "$port" ] && return 0
        kill -0 "${pids[-1]}" 2>/dev/null || fail "server exited early"
        sleep 0.05
    done
    fail "server did not print its port"
}

# skip_check AREA WHAT WHY: a check that does not apply here, counted like every skip
# ("SKIPPED: AREA: WHAT (WHY)", also appended to $RAKNET_SKIP_LOG when scripts/test.sh
# set it).
skip_check() {
    local line="SKIPPED: $1: $2 ($3)"
    echo "$line"
    if [ -n "${RAKNET_SKIP_LOG:-}" ]; then echo "$line" >>"$RAKNET_SKIP_LOG"; fi
}

# Runs a command that must succeed.
expect_ok() {
    local name=$1
    shift
    "$@" >"$work/$name.log" 2>&1 || fail "$name exited with $?"
    echo "ok: $name"
}

# Runs a command that must fail and print the given text.
expect_refusal() {
    local name=$1 text=$2
    shift 2
    if "$@" >"$work/$name.log" 2>&1; then
        fail "$name succeeded but should have failed"
    fi
    grep -q "$text" "$work/$name.log" || fail "$name did not print '$text'"
    echo "ok: $name ($text)"
}
