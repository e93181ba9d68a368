#!/usr/bin/env bash
# Installs the foreign RakNet peers used by the interop tests, pinned, into the
# cache directory named in lib.sh (outside the repo). Idempotent: a peer whose
# inputs (lock file, patch, helper manifest, tool versions) are unchanged is not
# reinstalled. Prints one line per peer with the time it took.
#
#   tests/interop/setup.sh [PEER...]      PEER: py-raknet raknet-native jsp-raknet rust-raknet
#   RAKNET_INTEROP_CACHE=DIR              cache location (default ~/.cache/libraknet-interop)
#   RAKNET_INTEROP_JOBS=N                 parallel compile jobs (default 2)
#
# Exit status: 0 if every requested peer is ready, 1 otherwise.
set -u
. "$(dirname "$0")/lib.sh"

JOBS="${RAKNET_INTEROP_JOBS:-2}"
mkdir -p "$INTEROP_CACHE"
peers="${*:-$INTEROP_PEERS}"
failed=0

hash_inputs() { cat "$@" 2>/dev/null | sha256sum | cut -c1-16; }

stamp_ok() { [ -f "$1/.stamp" ] && [ "$(cat "$1/.stamp")" = "$2" ]; }

log() { echo "setup: $*"; }

setup_py_raknet() {
    local dir="$INTEROP_CACHE/py-raknet" py req="$INTEROP_DIR/peers/py-raknet/requirements.txt"
    py="$(interop_python)"
    local key
    key="$(hash_inputs "$req")-$("$py" -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null)"
    if stamp_ok "$dir" "$key" && "$dir/venv/bin/python" -c 'import raknet' 2>/dev/null; then return 10; fi
    case "$key" in *-3.11) ;; *) echo "py-raknet needs CPython 3.11 (raknet 0.3.0 wheel); set RAKNET_INTEROP_PYTHON" >&2; return 1 ;; esac
    rm -rf "$dir" && mkdir -p "$dir" || return 1
    "$py" -m venv "$dir/venv" || return 1
    "$dir/venv/bin/pip" install --quiet --disable-pip-version-check --no-deps --require-hashes -r "$req" || return 1
    "$dir/venv/bin/python" -c 'import raknet; raknet.RakPeer()' || return 1
    echo "$key" > "$dir/.stamp"
}

npm_prefix_install() { # DIR SRC_DIR
    local dir="$1" src="$2"
    rm -rf "$dir" && mkdir -p "$dir" || return 1
    cp "$src/package.json" "$src/package-lock.json" "$dir/" || return 1
    (cd "$dir" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error 2>&1 | grep -v -e 'Unknown .*config "nodedir"' -e '^added ' -e '^$') || true
    [ -d "$dir/node_modules" ]
}

setup_raknet_native() {
    local dir="$INTEROP_CACHE/raknet-native" src="$INTEROP_DIR/peers/raknet-native"
    local key
    key="$(hash_inputs "$src/package-lock.json" "$src/interop-password.patch")-node$(node -p 'process.versions.modules')"
    if stamp_ok "$dir" "$key" && (cd "$dir" && node -e "require('raknet-native')") 2>/dev/null; then return 10; fi
    local nodedir="${npm_config_nodedir:-}"
    if [ -z "$nodedir" ] && [ -f /usr/include/node/node.h ]; then nodedir=/usr; fi
    if [ -z "$nodedir" ]; then
        echo "raknet-native: no local Node headers (install nodejs headers or set npm_config_nodedir); cmake-js would try to download them" >&2
        return 1
    fi
    npm_prefix_install "$dir" "$src" || return 1
    local pkg="$dir/node_modules/raknet-native"
    # The package ships prebuilt addons keyed by kernel major version; a match would be
    # loaded instead of our patched build, so remove them and always build from source.
    rm -rf "$pkg/prebuilds" "$pkg/build"
    patch -s -p1 -d "$pkg" < "$src/interop-password.patch" || return 1
    (cd "$pkg" && npm_config_nodedir="$nodedir" CMAKE_BUILD_PARALLEL_LEVEL="$JOBS" \
        "$dir/node_modules/.bin/cmake-js" compile --log-level error > "$dir/build.log" 2>&1) \
        || { tail -30 "$dir/build.log" >&2; return 1; }
    (cd "$dir" && node -e "require('raknet-native')") || return 1
    echo "$key" > "$dir/.stamp"
}

setup_jsp_raknet() {
    local dir="$INTEROP_CACHE/jsp-raknet" src="$INTEROP_DIR/peers/jsp-raknet"
    local key
    key="$(hash_inputs "$src/package-lock.json")"
    if stamp_ok "$dir" "$key" && (cd "$dir" && node -e "require('jsp-raknet')") 2>/dev/null; then return 10; fi
    npm_prefix_install "$dir" "$src" || return 1
    (cd "$dir" && node -e "require('jsp-raknet')") || return 1
    echo "$key" > "$dir/.stamp"
}

setup_rust_raknet() {
    local dir="$INTEROP_CACHE/rust-raknet" src="$INTEROP_DIR/peers/rust-raknet"
    mkdir -p "$dir"
    # cargo decides itself what is stale; the stamp only records that a build succeeded.
    local before=""
    [ -f "$dir/.stamp" ] && before="$(cat "$dir/.stamp")"
    CARGO_TARGET_DIR="$INTEROP_CACHE/rust-target" cargo build --quiet --release --locked -j "$JOBS" \
        --manifest-path "$src/Cargo.toml" || return 1
    local key
    key="$(hash_inputs "$src/Cargo.lock" "$src/Cargo.toml" "$src/src/main.rs")"
    echo "$key" > "$dir/.stamp"
    [ "$before" = "$key" ] && return 10
    return 0
}

for peer in $peers; do
    start=$(date +%s.%N)
    case "$peer" in
        py-raknet) setup_py_raknet ;;
        raknet-native) setup_raknet_native ;;
        jsp-raknet) setup_jsp_raknet ;;
        rust-raknet) setup_rust_raknet ;;
        *) echo "unknown peer $peer (known: $INTEROP_PEERS)" >&2; false ;;
    esac
    rc=$?
    secs=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
    case $rc in
        0) log "$peer installed in ${secs}s" ;;
        10) log "$peer already installed (checked in ${secs}s)" ;;
        *) log "$peer FAILED after ${secs}s"; failed=1 ;;
    esac
done
exit $failed
