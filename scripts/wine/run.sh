#!/usr/bin/env bash
# Runs a Windows program under wine, quietly and without prompts: the CTest emulator of
# the MinGW build (cmake/toolchains/mingw-w64-x86_64.cmake) and the launchers CMake
# writes into build-win/wine-bin/. Wine's own diagnostics stay off (WINEDEBUG=-all unless
# set), and no Mono or Gecko installer is offered (the programs need neither).
# WINEPREFIX is honoured; wine's default is ~/.wine, created on first use (a few seconds).
#
#   scripts/wine/run.sh PROGRAM.exe [ARGS...]
set -eu
export WINEDEBUG="${WINEDEBUG:--all}"
export WINEDLLOVERRIDES="${WINEDLLOVERRIDES:-mscoree,mshtml=}"
wine="${RAKNET_WINE:-}"
if [ -z "$wine" ]; then
    wine=$(command -v wine || command -v wine64 || true)
fi
if [ -z "$wine" ]; then
    echo "run.sh: wine is not installed (Debian: apt-get install wine wine64)" >&2
    exit 127
fi
exec "$wine" "$@"
