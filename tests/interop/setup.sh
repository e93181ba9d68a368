#!/usr/bin/env bash
# Installs the foreign RakNet peers used by the interop tests, pinned, into the
# cache directory named in lib.sh (outside the repo). Idempotent: a peer whose
# inputs (lock file, patch, helper manifest, tool versions) are unchanged is not
# reinstalled. Prints one line per peer with the time it took.
#
#   tests/interop/setup.sh [PEER...]      PEER: py-raknet raknet-native jsp-raknet rust-raknet
#   RAKNET_INTEROP_CACHE=DIR              cache location (default ~/.cache/libraknet-interop)
#   RAKNET_INTEROP_JOBS=N                 parallel compile jobs (default 2)
#   RAKNET_INTEROP_NO_TCPDUMP=1           do not try to install tcpdump (see below)
#
# Downloads go through each ecosystem's own client and cache (pip, npm, cargo), with
# retries: three attempts, 5 s and 20 s apart, for a registry hiccup. tcpdump is optional
# (run.sh uses it to tell whose reassembly broke a 1 MiB message); when it is missing and
# apt-get can run (as root, or through sudo without a password) it is installed.
#
# Exit status: 0 if every requested peer is ready, 1 otherwise.
set -u
. "$(dirname "$0")/lib.sh"

JOBS="${RAKNET_INTEROP_JOBS:-2}"
mkdir -p "$INTEROP_CACHE" || { echo "setup: cannot create $INTEROP_CACHE" >&2; exit 1; }
peers="${*:-$INTEROP_PEERS}"
failed=0

log() { echo "setup: $*"; }
err() { echo "setup: $*" >&2; }

# One setup at a time per cache (two test runs in parallel would clobber each other).
exec 9> "$INTEROP_CACHE/.lock"
if command -v flock >/dev/null 2>&1 && ! flock -w 900 9; then
    err "another setup.sh holds $INTEROP_CACHE/.lock for more than 15 min"; exit 1
fi

hash_inputs() { cat "$@" 2>/dev/null | sha256sum | cut -c1-16; }

stamp_ok() { [ -f "$1/.stamp" ] && [ "$(cat "$1/.stamp")" = "$2" ]; }

# retry WHAT LOG CMD...: runs CMD up to three times, its output appended to LOG; on the
# last failure prints the end of LOG and a hint.
retry() {
    local what="$1" logf="$2" i; shift 2
    for i in 1 2 3; do
        if "$@" >> "$logf" 2>&1; then return 0; fi
        if [ "$i" -lt 3 ]; then
            log "  $what failed (attempt $i of 3); retrying in $((i * i * 5)) s"
            sleep $((i * i * 5))
        fi
    done
    err "$what failed 3 times; last lines of $logf:"
    tail -15 "$logf" | sed 's/^/    /' >&2
    err "  (network or package registry trouble? proxy settings? the log above says more)"
    return 1
}

need() { # need TOOL WHY: fails with a clear message when TOOL is missing
    command -v "$1" >/dev/null 2>&1 && return 0
    err "$1 not found: $2"
    return 1
}

setup_py_raknet() {
    local dir="$INTEROP_CACHE/py-raknet" py req="$INTEROP_DIR/peers/py-raknet/requirements.txt"
    py="$(interop_python)"
    need "$py" "py-raknet needs CPython 3.11 (set RAKNET_INTEROP_PYTHON)" || return 1
    local key
    key="$(hash_inputs "$req")-$("$py" -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null)"
    if stamp_ok "$dir" "$key" && "$dir/venv/bin/python" -c 'import raknet' 2>/dev/null; then return 10; fi
    case "$key" in *-3.11) ;; *) err "py-raknet needs CPython 3.11 (the raknet 0.3.0 wheel is cp311 only); $py is ${key#*-}; set RAKNET_INTEROP_PYTHON"; return 1 ;; esac
    rm -rf "$dir" && mkdir -p "$dir" || return 1
    "$py" -m venv "$dir/venv" > "$dir/install.log" 2>&1 || { err "python venv failed:"; cat "$dir/install.log" >&2; return 1; }
    retry "pip install raknet==0.3.0" "$dir/install.log" \
        "$dir/venv/bin/pip" install --disable-pip-version-check --no-deps --require-hashes --retries 3 --timeout 30 -r "$req" \
        || return 1
    "$dir/venv/bin/python" -c 'import raknet; raknet.RakPeer()' || return 1
    echo "$key" > "$dir/.stamp"
}

npm_prefix_install() { # DIR SRC_DIR
    local dir="$1" src="$2"
    rm -rf "$dir" && mkdir -p "$dir" || return 1
    cp "$src/package.json" "$src/package-lock.json" "$dir/" || return 1
    (cd "$dir" && retry "npm ci ($(basename "$src"))" "$dir/install.log" \
        npm ci --ignore-scripts --no-audit --no-fund --loglevel=error --fetch-retries=3) || return 1
    [ -d "$dir/node_modules" ]
}

setup_raknet_native() {
    local dir="$INTEROP_CACHE/raknet-native" src="$INTEROP_DIR/peers/raknet-native"
    need node "raknet-native needs Node.js and npm" && need npm "raknet-native needs npm" || return 1
    need cmake "raknet-native is compiled from C++ with cmake-js" && need c++ "raknet-native needs a C++ compiler" || return 1
    local key
    key="$(hash_inputs "$src/package-lock.json" "$src/interop-password.patch")-node$(node -p 'process.versions.modules')"
    if stamp_ok "$dir" "$key" && (cd "$dir" && node -e "require('raknet-native')") 2>/dev/null; then return 10; fi
    local nodedir="${npm_config_nodedir:-}"
    if [ -z "$nodedir" ] && [ -f /usr/include/node/node.h ]; then nodedir=/usr; fi
    if [ -z "$nodedir" ]; then
        err "raknet-native: no local Node headers (/usr/include/node: install the nodejs headers, e.g. Debian's libnode-dev, or set npm_config_nodedir); cmake-js would try to download them"
        return 1
    fi
    npm_prefix_install "$dir" "$src" || return 1
    local pkg="$dir/node_modules/raknet-native"
    # The package ships prebuilt addons keyed by kernel major version; a match would be
    # loaded instead of our patched build, so remove them and always build from source.
    rm -rf "$pkg/prebuilds" "$pkg/build"
    if command -v patch >/dev/null 2>&1; then
        patch -s -p1 -d "$pkg" < "$src/interop-password.patch" || return 1
    else
        (cd "$pkg" && git apply -p1 "$src/interop-password.patch") || { err "cannot apply interop-password.patch (needs patch or git)"; return 1; }
    fi
    (cd "$pkg" && npm_config_nodedir="$nodedir" CMAKE_BUILD_PARALLEL_LEVEL="$JOBS" \
        "$dir/node_modules/.bin/cmake-js" compile --log-level error > "$dir/build.log" 2>&1) \
        || { err "raknet-native: C++ build failed; last lines of $dir/build.log:"; tail -30 "$dir/build.log" >&2; return 1; }
    (cd "$dir" && node -e "require('raknet-native')") || return 1
    echo "$key" > "$dir/.stamp"
}

setup_jsp_raknet() {
    local dir="$INTEROP_CACHE/jsp-raknet" src="$INTEROP_DIR/peers/jsp-raknet"
    need node "jsp-raknet needs Node.js and npm" && need npm "jsp-raknet needs npm" || return 1
    local key
    key="$(hash_inputs "$src/package-lock.json")"
    if stamp_ok "$dir" "$key" && (cd "$dir" && node -e "require('jsp-raknet')") 2>/dev/null; then return 10; fi
    npm_prefix_install "$dir" "$src" || return 1
    (cd "$dir" && node -e "require('jsp-raknet')") || return 1
    echo "$key" > "$dir/.stamp"
}

setup_rust_raknet() {
    local dir="$INTEROP_CACHE/rust-raknet" src="$INTEROP_DIR/peers/rust-raknet"
    need cargo "rust-raknet's helper is a Rust crate (install the Rust toolchain)" || return 1
    mkdir -p "$dir"
    local key before=""
    key="$(hash_inputs "$src/Cargo.lock" "$src/Cargo.toml" "$src/src/main.rs")-$(rustc --version 2>/dev/null | cut -d' ' -f2)"
    [ -f "$dir/.stamp" ] && before="$(cat "$dir/.stamp")"
    if [ "$before" = "$key" ] && [ -x "$INTEROP_CACHE/rust-target/release/rust-raknet-peer" ]; then return 10; fi
    # Fetching is retried on its own; the build itself is not (a compile error is no hiccup).
    retry "cargo fetch (rust-raknet =1.4.0)" "$dir/install.log" \
        env CARGO_NET_RETRY=5 cargo fetch --locked --manifest-path "$src/Cargo.toml" || return 1
    CARGO_TARGET_DIR="$INTEROP_CACHE/rust-target" cargo build --quiet --release --locked --offline -j "$JOBS" \
        --manifest-path "$src/Cargo.toml" >> "$dir/install.log" 2>&1 \
        || { err "rust-raknet helper: cargo build failed; last lines of $dir/install.log:"; tail -30 "$dir/install.log" >&2; return 1; }
    echo "$key" > "$dir/.stamp"
}

# tcpdump: optional, best effort, never a failure.
setup_tcpdump() {
    [ "${RAKNET_INTEROP_NO_TCPDUMP:-0}" = 1 ] && return 0
    command -v tcpdump >/dev/null 2>&1 && return 0
    command -v apt-get >/dev/null 2>&1 || { log "tcpdump not installed (no apt-get): 1 MiB corruption will be judged from the data alone"; return 0; }
    local sudo=""
    if [ "$(id -u)" != 0 ]; then
        if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then sudo="sudo -n"; else
            log "tcpdump not installed (not root): 1 MiB corruption will be judged from the data alone"; return 0
        fi
    fi
    local start; start=$(date +%s)
    if $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends tcpdump \
            > "$INTEROP_CACHE/tcpdump-install.log" 2>&1 </dev/null \
        || { $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq > /dev/null 2>&1 </dev/null \
            && $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends tcpdump \
            >> "$INTEROP_CACHE/tcpdump-install.log" 2>&1 </dev/null; }; then
        log "tcpdump installed in $(( $(date +%s) - start ))s"
    else
        log "tcpdump could not be installed (see $INTEROP_CACHE/tcpdump-install.log); continuing without it"
    fi
}

for peer in $peers; do
    start=$(date +%s.%N)
    case "$peer" in
        py-raknet) setup_py_raknet ;;
        raknet-native) setup_raknet_native ;;
        jsp-raknet) setup_jsp_raknet ;;
        rust-raknet) setup_rust_raknet ;;
        *) err "unknown peer $peer (known: $INTEROP_PEERS)"; false ;;
    esac
    rc=$?
    secs=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
    case $rc in
        0) log "$peer installed in ${secs}s" ;;
        10) log "$peer already installed (checked in ${secs}s)" ;;
        *) log "$peer FAILED after ${secs}s"; failed=1 ;;
    esac
done
setup_tcpdump
exit $failed
