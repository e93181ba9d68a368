#!/usr/bin/env bash
# Runs one foreign peer's helper: tests/interop/peer.sh PEER server|client|ping [options]
# PEER: py-raknet raknet-native jsp-raknet rust-raknet. Options: see README.md.
# Install the peers first with tests/interop/setup.sh.
set -u
. "$(dirname "$0")/lib.sh"
if [ $# -lt 2 ]; then
    echo "usage: $0 PEER server|client|ping [options]   (PEER: $INTEROP_PEERS)" >&2
    exit 2
fi
peer="$1"; shift
if ! peer_ready "$peer"; then
    echo "peer $peer is not installed; run tests/interop/setup.sh $peer" >&2
    exit 4
fi
# shellcheck disable=SC2046
exec $(peer_cmd "$peer") "$@"
