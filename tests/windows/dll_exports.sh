#!/usr/bin/env bash
# The names raknet.dll exports are exactly the functions raknet.h declares (the Windows
# side of tests/abi.rs, which reads ELF): no rak_* function missing from the DLL, and
# nothing else exported. The declarations come from the preprocessed header, so names
# in comments do not count.
#
#   dll_exports.sh <raknet.dll> <include dir> [C compiler] [objdump]
set -euo pipefail
dll=$1
inc=$2
cc=${3:-x86_64-w64-mingw32-gcc}
objdump=${4:-x86_64-w64-mingw32-objdump}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Every name of the export table ("[   0] rak_abi_version"), whatever it is.
"$objdump" -p "$dll" | sed -n '/^\[Ordinal\/Name Pointer\] Table/,/^$/p' |
    sed -n 's/^[[:space:]]*\[ *[0-9]*\] \(.*\)$/\1/p' | sort -u >"$work/exported"
# rak_* identifiers followed by "(": the declared functions.
echo '#include "raknet.h"' | "$cc" -E -P -I"$inc" -x c - |
    grep -o '\brak_[a-z0-9_]*[[:space:]]*(' | sed 's/[[:space:](]//g' | sort -u >"$work/declared"

[ -s "$work/declared" ] || { echo "FAIL: no function declared in $inc/raknet.h" >&2; exit 1; }
if ! diff -u "$work/declared" "$work/exported" >"$work/diff"; then
    echo "FAIL: raknet.dll exports (+) differ from raknet.h's functions (-):" >&2
    cat "$work/diff" >&2
    exit 1
fi
echo "dll_exports: the $(wc -l <"$work/exported") exports are the header's functions"
