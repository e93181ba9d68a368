#!/usr/bin/env bash
# Compile-level proof for macOS (x86_64 and arm64): `cargo check` and
# `cargo clippy --all-targets -D warnings` for both Apple triples. There is no macOS
# machine here, so nothing links or runs; what this proves is that the portable system
# layer (runtime/sys/portable.rs: kqueue through the `polling` crate, socket2) and every
# dependency build for the target without a C toolchain for it (the secure mode's
# primitives are pure Rust).
#
#   scripts/apple-check.sh
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/common.sh

for target in x86_64-apple-darwin aarch64-apple-darwin; do
    if ! rustup target list --installed 2>/dev/null | grep -qx "$target"; then
        step "rustup target add $target"
        rustup target add "$target"
    fi
    step "cargo check --target $target"
    cargo check --lib --target "$target"
    step "cargo clippy --all-targets --target $target -- -D warnings"
    cargo clippy --all-targets --target "$target" -- -D warnings
done
echo "apple-check: 2 targets checked"
