#!/usr/bin/env bash
# Installs a configured and built libraknet build tree into a scratch prefix, then
# builds and runs tests/cmake-consumer against it with find_package(raknet CONFIG),
# and a C program against it with pkg-config (shared, and static with --static).
#
#   run.sh <build dir> [cmake] [C compiler] [toolchain file] [emulator]
#
# A cross build (Windows, MinGW-w64) passes its toolchain file and the emulator that
# runs its programs (scripts/wine/run.sh); the install must then hold raknet.dll in bin/,
# libraknet.dll.a and libraknet.a in lib/, and never the test-only bcryptprimitives.dll;
# the programs run with raknet.dll (and, under wine, the stand-in) copied beside them.
set -euo pipefail

build=$(cd "$1" && pwd)
cmake=${2:-cmake}
cc=${3:-cc}
toolchain=${4:-}
emulator=${5:-}
here=$(cd "$(dirname "$0")" && pwd)
work="$build/consumer-test"
prefix="$work/prefix"
windows=0
if [ -n "$toolchain" ] && grep -qi 'CMAKE_SYSTEM_NAME *Windows' "$toolchain"; then
    windows=1
fi

fail() {
    echo "FAIL: $*" >&2
    exit 1
}

rm -rf "$work"
mkdir -p "$work"
"$cmake" --install "$build" --prefix "$prefix" >"$work/install.log"

if [ "$windows" = 1 ]; then
    [ -f "$prefix/bin/raknet.dll" ] || fail "no bin/raknet.dll in the install"
    [ -f "$prefix/lib/libraknet.dll.a" ] || fail "no lib/libraknet.dll.a (import library)"
    [ -f "$prefix/lib/libraknet.a" ] || fail "no lib/libraknet.a (static library)"
    if find "$prefix" -iname bcryptprimitives.dll | grep -q .; then
        fail "the test-only bcryptprimitives.dll was installed"
    fi
fi

# run PROGRAM: runs a built program, through the emulator on a cross build, with the DLL
# and the wine stand-in beside it.
run() {
    if [ "$windows" = 1 ]; then
        local dir
        dir=$(dirname "$1")
        cp "$prefix/bin/raknet.dll" "$dir/"
        if [ -f "$build/bin/bcryptprimitives.dll" ]; then
            cp "$build/bin/bcryptprimitives.dll" "$dir/"
        fi
    fi
    if [ -n "$emulator" ]; then
        "$emulator" "$@"
    else
        "$@"
    fi
}

# imports PROGRAM: the shared libraries it needs (ELF NEEDED / PE DLL Name).
imports() {
    if [ "$windows" = 1 ]; then
        x86_64-w64-mingw32-objdump -p "$1" | sed -n 's/^[[:space:]]*DLL Name: //p'
    else
        readelf -d "$1" | sed -n 's/.*NEEDED.*\[\(.*\)\]/\1/p'
    fi
}

if [ "$windows" = 1 ]; then
    exe=.exe
    shared_re='^raknet\.dll$'
else
    exe=
    shared_re='^libraknet\.so\.[0-9]+$'
fi

echo "== find_package(raknet CONFIG) from $prefix"
toolchain_args=()
if [ -n "$toolchain" ]; then
    # A cross toolchain searches its root paths only: the prefix becomes one.
    toolchain_args=(-DCMAKE_TOOLCHAIN_FILE="$toolchain" -DCMAKE_FIND_ROOT_PATH="$prefix")
fi
"$cmake" -S "$here" -B "$work/build" -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_C_COMPILER="$cc" "${toolchain_args[@]}"
"$cmake" --build "$work/build"
run "$work/build/consumer_shared$exe"
run "$work/build/consumer_static$exe"
run "$work/build/consumer_cxx$exe"
# The shared one really uses the library (its versioned soname on Linux); the static
# one needs no shared libraknet.
imports "$work/build/consumer_shared$exe" | grep -Eq "$shared_re" ||
    fail "consumer_shared does not import the shared library"
if imports "$work/build/consumer_static$exe" | grep -Eiq 'raknet'; then
    fail "consumer_static links the shared library"
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
rpath=()
if [ "$windows" = 0 ]; then rpath=(-Wl,-rpath,"$libdir"); fi
mkdir -p "$work/pc"
# shellcheck disable=SC2046
"$cc" -std=c99 -Wall -Wextra -Werror -o "$work/pc/consumer_pc$exe" "$here/main.c" \
    $(pkg-config --cflags --libs raknet) "${rpath[@]}"
run "$work/pc/consumer_pc$exe"
imports "$work/pc/consumer_pc$exe" | grep -Eq "$shared_re" ||
    fail "consumer_pc does not import the shared library"
# Static: --static adds RAKNET_STATIC (Cflags.private) and the system libraries
# (Libs.private); the program names libraknet.a itself, as -lraknet means the shared one.
cflags_static=$(pkg-config --static --cflags raknet)
case " $cflags_static " in
    *" -DRAKNET_STATIC "*) ;;
    *) fail "pkg-config --static --cflags lacks -DRAKNET_STATIC: $cflags_static" ;;
esac
# shellcheck disable=SC2046
"$cc" -std=c99 -Wall -Wextra -Werror -o "$work/pc/consumer_pc_static$exe" "$here/main.c" \
    -DCONSUMER_STATIC $cflags_static "$libdir/libraknet.a" \
    $(pkg-config --static --libs raknet | sed 's/\(^\| \)-lraknet\( \|$\)/ /')
run "$work/pc/consumer_pc_static$exe"
if imports "$work/pc/consumer_pc_static$exe" | grep -Eiq 'raknet'; then
    fail "consumer_pc_static links the shared library"
fi
echo "consumer: all passed"
