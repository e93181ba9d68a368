#!/usr/bin/env bash
# The IPv6 loopback tests on a machine without IPv6 must be counted skips, never silent
# passes: runs them in a new network namespace whose loopback has IPv6 switched off
# (needs root and unshare), and checks that
#   - with CI=true and no RAKNET_SKIP_LOG they fail (a skip nobody counts), and
#   - with RAKNET_SKIP_LOG each one appends its "SKIPPED: IPv6: ..." line and passes.
# scripts/test.sh runs it after cargo test (the test binaries are built by then).
#
#   tests/no_ipv6.sh
set -uo pipefail
cd "$(dirname "$0")/.."

filter=ipv6
tests=(--test loopback --test loopback_discovery)
want=4 # ipv6_loopback_connects_when_available and the three in loopback_discovery.rs

# run_without_ipv6 ENV...: the IPv6 tests in a namespace with IPv4 loopback only.
run_without_ipv6() {
    unshare --net env -u RAKNET_SKIP_LOG "$@" bash -c '
        ip link set lo up && echo 1 >/proc/sys/net/ipv6/conf/lo/disable_ipv6 || exit 90
        exec cargo test --offline -q --no-fail-fast "$@"' _ "${tests[@]}" "$filter"
}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail=0

run_without_ipv6 CI=true >"$work/ci.log" 2>&1
rc=$?
if [ "$rc" = 90 ]; then echo "no_ipv6: cannot set up the namespace"; cat "$work/ci.log"; exit 1; fi
if [ "$rc" = 0 ]; then
    echo "no_ipv6: FAIL: under CI=true without RAKNET_SKIP_LOG the IPv6 tests passed without IPv6"
    fail=1
elif [ "$(grep -c 'under CI=true a skip must be counted' "$work/ci.log")" -lt "$want" ]; then
    echo "no_ipv6: FAIL: the IPv6 tests failed under CI=true, but not each for its uncounted skip:"
    grep -E 'panicked|SKIPPED|test result' "$work/ci.log"
    fail=1
fi

: >"$work/skips"
if ! run_without_ipv6 CI=true RAKNET_SKIP_LOG="$work/skips" >"$work/log.log" 2>&1; then
    echo "no_ipv6: FAIL: with RAKNET_SKIP_LOG set the IPv6 tests failed:"
    tail -n 30 "$work/log.log"
    fail=1
fi
n=$(grep -c '^SKIPPED: IPv6: ' "$work/skips")
if [ "$n" != "$want" ]; then
    echo "no_ipv6: FAIL: $n of $want IPv6 tests recorded their skip:"
    cat "$work/skips"
    fail=1
fi
[ "$fail" = 0 ] && echo "no_ipv6: ok: without IPv6, $want IPv6 tests fail under CI=true unless counted, and each records its skip"
exit "$fail"
