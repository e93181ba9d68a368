#!/usr/bin/env bash
# The Rust tests under the compiler's sanitizers: the library's own `unsafe` (the socket
# and its batching, the wake-up descriptors, the message slab, the C boundary) and the
# threads around it instrumented, the standard library rebuilt with the same flags
# (-Zbuild-std) so that its atomics and locks are seen too.
#
#   address  every test target (unit tests of proto/, runtime/, ffi/, and every
#            integration test: loopback, ffi, memory, ...) under AddressSanitizer with
#            LeakSanitizer;
#   thread   the same under ThreadSanitizer, except the protocol core's unit tests
#            (`proto::`): they drive one endpoint on one thread in virtual time, so
#            there is nothing for it to see, and they are the slowest part under it.
#
#   scripts/sanitize.sh [address] [thread]      (default: both)
#
# Uses the installed stable toolchain with RUSTC_BOOTSTRAP=1 for the -Z flags (no second
# toolchain) and installs its `rust-src` component when it is missing. Builds go to
# target/sanitize-<kind>/ (about 3 minutes each on 2 cores when cold). Any sanitizer
# report fails the run, even one printed by a test that otherwise passed.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
# shellcheck source=scripts/common.sh
. scripts/common.sh

kinds=("$@")
[ "${#kinds[@]}" -gt 0 ] || kinds=(address thread)

host=$(rustc -vV | sed -n 's/^host: //p')
sysroot=$(rustc --print sysroot)
if [ ! -f "$sysroot/lib/rustlib/src/rust/library/Cargo.lock" ]; then
    step "rustup component add rust-src (for -Zbuild-std)"
    rustup component add rust-src
fi

for kind in "${kinds[@]}"; do
    case "$kind" in
        address) filter=() ;;
        thread) filter=(-- --skip proto::) ;;
        *) die "unknown sanitizer '$kind' (address or thread)" ;;
    esac
    step "cargo test under ${kind} sanitizer (-Zbuild-std, $host)"
    log=$(mktemp)
    status=0
    RUSTC_BOOTSTRAP=1 \
        RUSTFLAGS="-Zsanitizer=$kind -Cdebug-assertions=on" \
        ASAN_OPTIONS="detect_leaks=1:abort_on_error=0" \
        TSAN_OPTIONS="halt_on_error=1" \
        cargo test -Zbuild-std --target "$host" --target-dir "target/sanitize-$kind" \
        --tests --no-fail-fast "${filter[@]}" 2>&1 | tee "$log" || status=$?
    if grep -q 'Sanitizer:' "$log"; then
        grep -A3 'Sanitizer:' "$log" | head -40
        rm -f "$log"
        die "${kind} sanitizer reported a problem (above)"
    fi
    rm -f "$log"
    [ "$status" = 0 ] || die "tests failed under the ${kind} sanitizer"
done
step "sanitizers: ${kinds[*]} clean"
