#!/usr/bin/env bash
# Builds the test-only ProcessPrng stand-in (processprng.c: why) as bcryptprimitives.dll
# into each directory given, for running Windows builds under Wine 8. Never shipped.
#
#   scripts/wine/shim.sh DIR...
set -eu
here="$(cd "$(dirname "$0")" && pwd)"
cc="${MINGW_CC:-x86_64-w64-mingw32-gcc}"
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
"$cc" -shared -O2 -Wall -o "$out/bcryptprimitives.dll" "$here/processprng.c" "$here/processprng.def"
for d in "$@"; do
    mkdir -p "$d"
    cp "$out/bcryptprimitives.dll" "$d/"
done
