#!/usr/bin/env bash
# The Rust test suite on Windows x86_64, under Wine: builds every test executable for
# x86_64-pc-windows-gnu with the MinGW-w64 cross toolchain (cargo test --no-run), puts
# the test-only ProcessPrng stand-in beside them (scripts/wine/shim.sh says why; it is
# never shipped) and runs each with wine64. Real sockets on 127.0.0.1 only, as on Linux.
#
#   scripts/windows-rust-tests.sh [--release]
#
# Not run here, and printed as SKIPPED lines (scripts/common.sh):
#   tests/abi.rs       reads libraknet.so with nm/readelf: ELF only (#![cfg(not(windows))])
#   tests/idle_cpu.rs  reads /proc scheduler statistics: Linux only
#   lib: runtime::sys::linux tests (UDP GSO/GRO, recvmmsg/sendmmsg, epoll, timerfd):
#                      Linux fast paths that do not exist on Windows
# Exits non-zero if any test fails; the last line is "windows-rust: N passed, N failed".
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/common.sh

target=x86_64-pc-windows-gnu
profile=debug
cargo_args=()
if [ "${1:-}" = "--release" ]; then
    profile=release
    cargo_args+=(--release)
fi

missing=()
command -v x86_64-w64-mingw32-gcc >/dev/null 2>&1 || missing+=(gcc-mingw-w64-x86-64)
command -v wine >/dev/null 2>&1 || missing+=(wine wine64)
if [ "${#missing[@]}" -gt 0 ]; then
    step "installing ${missing[*]}"
    apt_install "${missing[@]}"
fi
if ! rustup target list --installed 2>/dev/null | grep -qx "$target"; then
    step "rustup target add $target"
    rustup target add "$target"
fi

step "cargo test --no-run --target $target"
build_log=$(mktemp)
trap 'rm -f "$build_log"' EXIT
cargo test --no-run --target "$target" "${cargo_args[@]}" 2>&1 | tee "$build_log"
# "  Executable tests/loopback.rs (target/.../deps/loopback-<hash>.exe)"
mapfile -t lines < <(sed -n 's/^ *Executable \(.*\) (\(.*\.exe\))$/\1|\2/p' "$build_log")
[ "${#lines[@]}" -gt 0 ] || die "no test executables found in cargo's output"

deps="target/$target/$profile/deps"
step "ProcessPrng stand-in into $deps (test-only)"
scripts/wine/shim.sh "$deps"

export WINEDEBUG=-all
# A private prefix, so the first run's setup does not touch the user's ~/.wine.
export WINEPREFIX="${WINEPREFIX:-$PWD/target/$target/wineprefix}"

skipped windows-rust "tests/abi.rs" "reads libraknet.so with nm/readelf: ELF only"
skipped windows-rust "tests/idle_cpu.rs" "reads /proc scheduler statistics: Linux only"
skipped windows-rust "lib runtime::sys::linux tests" "UDP GSO/GRO, recvmmsg, epoll, timerfd: Linux only"

passed=0
failed=0
broken=()
for line in "${lines[@]}"; do
    name=${line%%|*}
    exe=${line#*|}
    case "$name" in
        tests/abi.rs | tests/idle_cpu.rs) continue ;;
    esac
    step "wine $name"
    out=$(mktemp)
    status=0
    timeout 900 wine "$exe" 2>&1 | tee "$out" || status=$?
    # "test result: ok. 16 passed; 0 failed; ..."
    p=$(sed -n 's/^test result: [A-Za-z]*\. \([0-9]*\) passed; \([0-9]*\) failed.*/\1/p' "$out" | tail -1)
    f=$(sed -n 's/^test result: [A-Za-z]*\. \([0-9]*\) passed; \([0-9]*\) failed.*/\2/p' "$out" | tail -1)
    rm -f "$out"
    passed=$((passed + ${p:-0}))
    failed=$((failed + ${f:-0}))
    if [ "$status" -ne 0 ] || [ -z "$p" ]; then
        broken+=("$name")
        # A crash or a hang counts as one failure even if no result line came.
        if [ -z "$f" ] || [ "$f" = 0 ]; then failed=$((failed + 1)); fi
    fi
done

if [ "${#broken[@]}" -gt 0 ]; then
    printf 'failed under wine: %s\n' "${broken[*]}"
fi
echo "windows-rust: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
