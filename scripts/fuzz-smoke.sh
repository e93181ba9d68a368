#!/usr/bin/env bash
# Fuzz smoke test: builds the cargo-fuzz crate in fuzz/, regenerates the seed corpora
# from tests/vectors/*.txt, runs every target for a short time and fails on any crash,
# panic, timeout or memory blow-up. Meant for CI (about 3 minutes on 2 cores, build
# included); also the way to run a longer campaign by hand.
#
#   scripts/fuzz-smoke.sh                 # every target, FUZZ_SECONDS (default 15) each
#   FUZZ_SECONDS=120 scripts/fuzz-smoke.sh split ffi
#
# Works on the stable toolchain: targets are built with `--sanitizer none`, which needs
# no -Z flags. Safe Rust needs no AddressSanitizer; for the C-API target it can be had
# with `RUSTC_BOOTSTRAP=1 cargo fuzz run ffi` (stable rustc accepting -Zsanitizer).
# Crash inputs land in fuzz/artifacts/<target>/; replay one with
#   fuzz/target/x86_64-unknown-linux-gnu/release/<target> fuzz/artifacts/<target>/crash-…
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
# shellcheck source=scripts/common.sh
. scripts/common.sh

seconds=${FUZZ_SECONDS:-15}
all_targets=(offline datagram frames connected split endpoint_server endpoint_client ffi secure)
if [ "$#" -gt 0 ]; then
    targets=("$@")
else
    targets=("${all_targets[@]}")
fi
start=$SECONDS

command -v cargo >/dev/null 2>&1 || export PATH="$HOME/.cargo/bin:$PATH"
if ! cargo fuzz --version >/dev/null 2>&1; then
    step "cargo install cargo-fuzz --locked"
    cargo install cargo-fuzz --locked
fi
command -v c++ >/dev/null 2>&1 || apt_install g++ # libFuzzer itself is C++

step "cargo fuzz build (release, debug assertions, no sanitizer)"
(cd fuzz && cargo fuzz build -O -a --sanitizer none)
bin=fuzz/target/x86_64-unknown-linux-gnu/release

step "seed corpora from tests/vectors"
RAKNET_VECTORS=tests/vectors RAKNET_CORPUS=fuzz/corpus "$bin/build_corpus" 2>/dev/null |
    tail -n 1

failed=()
report=()
for t in "${targets[@]}"; do
    step "fuzz $t for ${seconds}s"
    mkdir -p "fuzz/corpus/$t" "fuzz/artifacts/$t"
    log="fuzz/artifacts/$t/last-run.log"
    # -timeout: one input running 10 s is a hang. -malloc_limit_mb: one allocation of
    # 512 MiB (an announced length trusted before the bytes arrive) is a crash.
    status=0
    timeout --kill-after=10 $((seconds + 120)) "$bin/$t" \
        -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=512 \
        -print_final_stats=1 -artifact_prefix="fuzz/artifacts/$t/" \
        "fuzz/corpus/$t" >"$log" 2>&1 || status=$?
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    corpus=$(find "fuzz/corpus/$t" -type f | wc -l)
    if [ "$status" -ne 0 ]; then
        failed+=("$t")
        grep -E 'panicked|ERROR|SUMMARY|Test unit written' "$log" | head -n 20 || true
        report+=("$(printf '%-16s %12s %8s  FAILED (exit %s, log %s)' "$t" "${execs:-?}" "$corpus" "$status" "$log")")
    else
        report+=("$(printf '%-16s %12s %8s  ok' "$t" "${execs:-?}" "$corpus")")
    fi
done

step "summary (${seconds}s per target, $((SECONDS - start))s in all)"
printf '%-16s %12s %8s  %s\n' target execs corpus result
printf '%s\n' "${report[@]}"
if [ "${#failed[@]}" -gt 0 ]; then
    die "fuzz targets failed: ${failed[*]}"
fi
printf '%d passed, 0 failed\n' "${#targets[@]}"
