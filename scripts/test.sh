#!/usr/bin/env bash
# The whole test suite:
#   cargo fmt --check, cargo clippy --all-targets -D warnings, cargo test --all-targets
#   (Rust unit and integration tests, header freshness, ABI symbols), then a CMake
#   build (Debug, C tests under ASan/UBSan) and CTest: header-only C99/C++17, the C API
#   test, end-to-end server/client, the C++ example and the CMake/pkg-config consumer.
#
#   scripts/test.sh            (CMake build directory: build-test/, or $RAKNET_TEST_BUILD_DIR)
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
# shellcheck source=scripts/common.sh
. scripts/common.sh

build=${RAKNET_TEST_BUILD_DIR:-build-test}
ensure_tools pkg-config
ensure_rust_components

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy --all-targets -- -D warnings"
cargo clippy --all-targets -- -D warnings

step "cargo test --all-targets"
cargo test --all-targets

step "cmake build ($build, Debug, sanitizers on)"
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Debug -DRAKNET_SANITIZE=ON
cmake --build "$build" -j "$(njobs)"

step "ctest"
(cd "$build" && ctest --output-on-failure)

step "all tests passed"
