# Sourced by setup.sh, peer.sh, prove.sh and run.sh: where the foreign peers live.
#
# Everything installed lives outside the repo, in one cache directory:
#   RAKNET_INTEROP_CACHE  (default ${XDG_CACHE_HOME:-$HOME/.cache}/libraknet-interop)
#     py-raknet/venv            PyPI raknet==0.3.0 in a CPython 3.11 venv
#     raknet-native/            npm prefix: raknet-native@1.2.3, patched and built from source
#     jsp-raknet/               npm prefix: jsp-raknet@2.2.0
#     rust-target/              CARGO_TARGET_DIR of peers/rust-raknet (rust-raknet =1.4.0)

INTEROP_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
INTEROP_CACHE="${RAKNET_INTEROP_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/libraknet-interop}"
INTEROP_PEERS="py-raknet raknet-native jsp-raknet rust-raknet"

interop_python() {
    # The PyPI wheel of raknet 0.3.0 used here is built for CPython 3.11 only.
    if [ -n "${RAKNET_INTEROP_PYTHON:-}" ]; then echo "$RAKNET_INTEROP_PYTHON"; return; fi
    if command -v python3.11 >/dev/null 2>&1; then echo python3.11; return; fi
    echo python3
}

# peer_cmd PEER: prints the command (words) that runs PEER's helper.
peer_cmd() {
    case "$1" in
        py-raknet) echo "$INTEROP_CACHE/py-raknet/venv/bin/python -u $INTEROP_DIR/peers/py-raknet/peer.py" ;;
        raknet-native) echo "env NODE_PATH=$INTEROP_CACHE/raknet-native/node_modules node $INTEROP_DIR/peers/raknet-native/peer.js" ;;
        jsp-raknet) echo "env NODE_PATH=$INTEROP_CACHE/jsp-raknet/node_modules node $INTEROP_DIR/peers/jsp-raknet/peer.js" ;;
        rust-raknet) echo "$INTEROP_CACHE/rust-target/release/rust-raknet-peer" ;;
        *) echo "unknown peer $1" >&2; return 2 ;;
    esac
}

# peer_ready PEER: true when setup.sh has installed PEER.
peer_ready() {
    [ -f "$INTEROP_CACHE/$1/.stamp" ]
}

# free_udp_port: prints a UDP port on 127.0.0.1 that is free right now.
free_udp_port() {
    python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
