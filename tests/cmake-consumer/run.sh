#!/usr/bin/env bash
# Installs a configured and built libraknet build tree into a scratch prefix, then
# builds and runs tests/cmake-consumer against it with find_package(raknet CONFIG),
# and a C program against it with pkg-config.
#
#   run.sh <build dir> [cmake] [C compiler]
set -euo pipefail

build=$(cd "$1" && pwd)
cmake=${2:-cmake}
cc=${3:-cc}
here=$(cd "$(dirname "$0")" && pwd)
work="$build/consumer-test"
prefix="$work/prefix"

rm -rf "$work"
mkdir -p "$work"
"$cmake" --install "$build" --prefix "$prefix" >"$work/install.log"

echo "== find_package(raknet CONFIG) from $prefix"
"$cmake" -S "$here" -B "$work/build" -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_C_COMPILER="$cc"
"$cmake" --build "$work/build"
"$work/build/consumer_shared"
"$work/build/consumer_static"
"$work/build/consumer_cxx"
# The shared one really uses the versioned soname; the static one needs no libraknet.so.
readelf -d "$work/build/consumer_shared" | grep -q 'NEEDED.*\[libraknet\.so\.[0-9]*\]'
if readelf -d "$work/build/consumer_static" | grep -q 'NEEDED.*libraknet'; then
    echo "consumer_static links libraknet.so" >&2
    exit 1
fi

echo "== pkg-config from $prefix"
if ! command -v pkg-config >/dev/null; then
    echo "pkg-config is not installed" >&2
    exit 1
fi
pcdir=$(dirname "$(find "$prefix" -name raknet.pc | head -n 1)")
export PKG_CONFIG_PATH="$pcdir"
pkg-config --exists --print-errors raknet
version=$(pkg-config --modversion raknet)
echo "raknet.pc version $version"
libdir=$(pkg-config --variable=libdir raknet)
# shellcheck disable=SC2046
"$cc" -std=c99 -Wall -Wextra -Werror -o "$work/consumer_pc" "$here/main.c" \
    $(pkg-config --cflags --libs raknet) -Wl,-rpath,"$libdir"
"$work/consumer_pc"
echo "consumer: all passed"
