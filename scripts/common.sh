# Shared by demo.sh and test.sh (sourced, not run): logging, counted skips, and
# installing the system tools the build and the tests need on a fresh Debian machine. Rust itself (cargo, rustc)
# must already be installed, e.g. with rustup.

# Prints a visible step header.
step() {
    printf '\n==> %s\n' "$*"
}

die() {
    printf 'error: %s\n' "$*" >&2
    exit 1
}

# skipped AREA WHAT WHY: says that part of the suite did not run, as one line
# "SKIPPED: AREA: WHAT (WHY)", also appended to $RAKNET_SKIP_LOG when set (scripts/test.sh
# sets it and counts the lines in its last line; the Rust tests' common::skip, the
# interop harness and CTest scripts append the same lines). Nothing skips silently.
skipped() {
    local line="SKIPPED: $1: $2 ($3)"
    printf '%s\n' "$line"
    if [ -n "${RAKNET_SKIP_LOG:-}" ]; then printf '%s\n' "$line" >>"$RAKNET_SKIP_LOG"; fi
}

# skip_summary FILE: "N skipped" or "N skipped: K AREA, ..." from the SKIPPED lines of FILE.
skip_summary() {
    local n
    n=$(grep -c '^SKIPPED: ' "$1" 2>/dev/null) || n=0
    if [ "$n" = 0 ]; then
        echo "0 skipped"
        return
    fi
    printf '%s skipped: %s' "$n" "$(sed -n 's/^SKIPPED: \([^:]*\):.*/\1/p' "$1" | sort | uniq -c |
        awk '{ c = $1; $1 = ""; printf "%s%d%s", (NR > 1 ? ", " : ""), c, $0 }')"
    echo
}

# Runs a command as root: directly when we are root, else through sudo when it exists.
as_root() {
    if [ "$(id -u)" -eq 0 ]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo "$@"
    else
        die "need root to run: $* (install the packages yourself, or install sudo)"
    fi
}

_apt_updated=
# Installs Debian packages with apt-get, non-interactively.
apt_install() {
    command -v apt-get >/dev/null 2>&1 || die "please install: $* (no apt-get here)"
    if [ -z "$_apt_updated" ]; then
        as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq </dev/null
        _apt_updated=1
    fi
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" </dev/null
}

# Makes sure cargo, a C and a C++ compiler, CMake >= 3.16 and, with "pkg-config" as an
# argument, pkg-config are available, installing what is missing.
ensure_tools() {
    local missing=()
    command -v cargo >/dev/null 2>&1 || [ -x "$HOME/.cargo/bin/cargo" ] ||
        die "cargo not found: install the Rust toolchain first (https://rustup.rs)"
    if ! command -v cargo >/dev/null 2>&1; then
        export PATH="$HOME/.cargo/bin:$PATH"
    fi
    command -v cc >/dev/null 2>&1 || missing+=(gcc libc6-dev)
    command -v c++ >/dev/null 2>&1 || missing+=(g++)
    command -v make >/dev/null 2>&1 || command -v ninja >/dev/null 2>&1 || missing+=(make)
    if ! command -v cmake >/dev/null 2>&1; then
        missing+=(cmake)
    fi
    for tool in "$@"; do
        command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
    done
    if [ "${#missing[@]}" -gt 0 ]; then
        step "installing ${missing[*]}"
        apt_install "${missing[@]}"
    fi
    local v
    v=$(cmake --version | sed -n 's/^cmake version \([0-9]*\.[0-9]*\).*/\1/p')
    case "$v" in
        3.1[6-9] | 3.[2-9][0-9] | [4-9].*) ;;
        *) die "CMake $v is too old; 3.16 or newer is needed" ;;
    esac
}

# Makes sure the interop suite's tools exist (tests/interop/setup.sh installs the peers
# themselves, pinned, into a cache): Node.js and npm (raknet-native, jsp-raknet), the
# Node headers (raknet-native is compiled against them: /usr/include/node), CPython 3.11
# with venv (the PyPI raknet 0.3.0 wheel is cp311 only) and patch. On Debian 12 these are
# the packages nodejs, npm, libnode-dev, python3.11 and python3.11-venv, and patch; each
# is installed only when missing. A Debian without python3.11 (13 has 3.13) stops here:
# point RAKNET_INTEROP_PYTHON at a CPython 3.11.
ensure_interop_tools() {
    local missing=() py
    command -v node >/dev/null 2>&1 || missing+=(nodejs)
    command -v npm >/dev/null 2>&1 || missing+=(npm)
    if [ -z "${npm_config_nodedir:-}" ] && [ ! -f /usr/include/node/node.h ]; then
        missing+=(libnode-dev)
    fi
    command -v python3 >/dev/null 2>&1 || missing+=(python3)
    command -v patch >/dev/null 2>&1 || missing+=(patch)
    # The interpreter tests/interop/lib.sh picks: RAKNET_INTEROP_PYTHON, python3.11, python3.
    local is311='import sys; assert sys.version_info[:2] == (3, 11)'
    if [ -n "${RAKNET_INTEROP_PYTHON:-}" ]; then
        "$RAKNET_INTEROP_PYTHON" -c "$is311; import ensurepip, venv" >/dev/null 2>&1 ||
            die "RAKNET_INTEROP_PYTHON=$RAKNET_INTEROP_PYTHON is not a CPython 3.11 with venv (the interop suite's py-raknet needs one)"
    else
        py=python3
        if command -v python3.11 >/dev/null 2>&1; then py=python3.11; fi
        if ! "$py" -c "$is311" >/dev/null 2>&1; then
            if command -v apt-cache >/dev/null 2>&1 && ! apt-cache show python3.11 >/dev/null 2>&1; then
                die "the interop suite's py-raknet needs CPython 3.11 and this system has no python3.11 package (Debian 13 has 3.13): install one and set RAKNET_INTEROP_PYTHON, or run with RAKNET_SKIP_INTEROP=1"
            fi
            missing+=(python3.11 python3.11-venv)
        elif ! "$py" -c 'import ensurepip, venv' >/dev/null 2>&1; then
            missing+=(python3.11-venv)
        fi
    fi
    if [ "${#missing[@]}" -gt 0 ]; then
        step "installing ${missing[*]} (for the interop suite)"
        apt_install "${missing[@]}"
    fi
}

# rustup_targets TRIPLE...: adds the Rust standard library of each target not installed.
rustup_targets() {
    local want=() t installed
    installed=$(rustup target list --installed 2>/dev/null || true)
    for t in "$@"; do
        grep -qx "$t" <<<"$installed" || want+=("$t")
    done
    if [ "${#want[@]}" -gt 0 ]; then
        command -v rustup >/dev/null 2>&1 || die "please install the Rust targets: ${want[*]} (rustup target add)"
        step "rustup target add ${want[*]}"
        rustup target add "${want[@]}"
    fi
}

# Makes sure the Windows cross build and its tests can run: the MinGW-w64 C and C++
# compilers and binutils (Debian gcc-mingw-w64-x86-64, g++-mingw-w64-x86-64), wine
# (wine, wine64) and the Rust target x86_64-pc-windows-gnu.
ensure_windows_tools() {
    local missing=()
    command -v x86_64-w64-mingw32-gcc >/dev/null 2>&1 || missing+=(gcc-mingw-w64-x86-64)
    command -v x86_64-w64-mingw32-g++ >/dev/null 2>&1 || missing+=(g++-mingw-w64-x86-64)
    command -v x86_64-w64-mingw32-objdump >/dev/null 2>&1 || missing+=(binutils-mingw-w64-x86-64)
    if ! command -v wine >/dev/null 2>&1 && ! command -v wine64 >/dev/null 2>&1; then
        missing+=(wine wine64)
    fi
    if [ "${#missing[@]}" -gt 0 ]; then
        step "installing ${missing[*]} (for the Windows build and its tests under wine)"
        apt_install "${missing[@]}"
    fi
    rustup_targets x86_64-pc-windows-gnu
}

# Makes sure the Rust targets of the macOS checks are installed (x86_64 and arm64).
ensure_apple_targets() {
    rustup_targets x86_64-apple-darwin aarch64-apple-darwin
}

# Makes sure the rustfmt and clippy cargo subcommands exist.
ensure_rust_components() {
    local want=()
    cargo fmt --version >/dev/null 2>&1 || want+=(rustfmt)
    cargo clippy --version >/dev/null 2>&1 || want+=(clippy)
    if [ "${#want[@]}" -gt 0 ]; then
        command -v rustup >/dev/null 2>&1 || die "please install: ${want[*]}"
        step "rustup component add ${want[*]}"
        rustup component add "${want[@]}"
    fi
}

# Parallel build jobs: all cores, at least 1.
njobs() {
    nproc 2>/dev/null || echo 2
}
