#!/usr/bin/env bash
# DRAFT interop runner: libraknet's example programs against the foreign peers.
#
#   tests/interop/run.sh BUILD_DIR [--peers "LIST"] [--only REGEX] [--no-setup]
#
# BUILD_DIR/bin must hold rak_server, rak_client and rak_ping (built by CMake). For every
# peer and each direction the peer has a role in, runs the scenarios below and prints a
# matrix (peer x direction x scenario -> result) and "N passed, N failed, N skipped".
# Exit status 0 iff nothing failed. Results: pass, fail, skip (peer cannot do it),
# xfail (documented incompatibility), flaky (documented random bug of the peer).
#
# Contract assumed for libraknet's programs (README.md, "libraknet side"):
#   rak_server --port P [--protocol V] [--max-connections N] [--password PW] [--offline-data TEXT] [--echo]
#              one line per event on stdout
#   rak_client --host H --port P [--protocol V] [--count N] [--size S] [--reliability NAME]
#              [--channel C] [--password PW] [--expect-echo]   exit 0 iff every echo came back intact;
#              refusals print "connection refused: invalid password" / "server full", exit non-zero
#   rak_ping   --host H --port P                                prints the GUID and the offline data
# Optional rak_client extensions, used only when `rak_client --help` mentions them:
#   --first-byte B   payload byte 0 (rust-raknet can only send and echo messages starting 0xFE)
#   --hold S         stay connected up to S seconds; exit 0 iff the connection was lost meanwhile
# Regexes below that read rak_server's output are guesses until its event format is fixed:
#   RAK_DISCONNECT_RE, RAK_LOST_RE (environment) override them.
set -u
. "$(dirname "$0")/lib.sh"

BUILD=""
PEERS="$INTEROP_PEERS"
ONLY=""
SETUP=1
while [ $# -gt 0 ]; do
    case "$1" in
        --peers) PEERS="$2"; shift ;;
        --only) ONLY="$2"; shift ;;
        --no-setup) SETUP=0 ;;
        -h|--help) sed -n '2,26p' "$0"; exit 0 ;;
        -*) echo "unknown option $1" >&2; exit 2 ;;
        *) BUILD="$1" ;;
    esac
    shift
done
[ -n "$BUILD" ] || { echo "usage: $0 BUILD_DIR [--peers LIST] [--only REGEX] [--no-setup]" >&2; exit 2; }
BIN="$(cd "$BUILD" 2>/dev/null && pwd)/bin"
for p in rak_server rak_client rak_ping; do
    [ -x "$BIN/$p" ] || { echo "missing $BIN/$p: build libraknet's example programs first" >&2; exit 2; }
done
if [ "$SETUP" = 1 ]; then
    # shellcheck disable=SC2086
    "$INTEROP_DIR/setup.sh" $PEERS >&2 || { echo "setup.sh failed" >&2; exit 2; }
fi
. "$INTEROP_DIR/harness.sh"

PEER="$INTEROP_DIR/peer.sh"
RAK_SERVER="$BIN/rak_server"
RAK_CLIENT="$BIN/rak_client"
RAK_PING="$BIN/rak_ping"
CLIENT_HELP="$("$RAK_CLIENT" --help 2>&1 || true)"
has_client_opt() { echo "$CLIENT_HELP" | grep -q -- "$1"; }
want() { [ -z "$ONLY" ] || echo "$*" | grep -Eq -- "$ONLY"; }
RAK_DISCONNECT_RE="${RAK_DISCONNECT_RE:-disconnect}"
RAK_LOST_RE="${RAK_LOST_RE:-lost|timed? ?out}"
OFF=interop-offline-data
n=0

# ---- what each peer is and can do (README.md has the full matrix) -------------------
protocols_of() {
    case "$1" in
        py-raknet|raknet-native) echo 6 ;;
        rust-raknet) echo "10 11" ;;
        jsp-raknet) echo 10 ;;
    esac
}
can_password() { [ "$1" = raknet-native ]; }        # only with tests/interop's patch
can_max_conn() { [ "$1" = raknet-native ] || [ "$1" = py-raknet ]; }
can_see_full() { [ "$1" != rust-raknet ]; }         # rust-raknet's client ignores 0x14
can_sequenced() { [ "$1" != jsp-raknet ]; }         # jsp-raknet writes sequence index 0 always
big_expect() {                                      # documented random failures of 1 MiB
    case "$1" in
        py-raknet) echo "flaky:corrupt|intact|mismatch" ;;   # 4.081 HEAD arrival-order reassembly
        jsp-raknet) echo "flaky:timeout|lost|big" ;;         # bursts, no timer resend, 256 windows
    esac
}
pflag() { [ "$1" = 6 ] && echo "" || echo "--protocol $1"; }

# ---- libraknet client -> foreign server ---------------------------------------------
# lc PEER PROTO SCENARIO 'PEER SERVER ARGS' 'CLIENT CMD' [SERVER_REGEX] [CLIENT_REGEX] [EXPECT] [SERVER_MSGS]
lc() {
    local peer="$1" proto="$2" scen="$3" sargs="$4" ccmd="$5" sre="${6:-}" cre="${7:-}" expect="${8:-}" msgs="${9:-}"
    want "$peer libraknet-client@$proto $scen" || return 0
    local port name got
    port=$(free_udp_port); n=$((n + 1)); name="r$n-$peer-lc-$scen"
    ccmd="${ccmd//@PORT@/$port}"
    run_case "$name" "$peer" "libraknet-client@$proto" "$scen" "$port" \
        "$PEER $peer server --port $port $(pflag "$proto") $sargs" "$ccmd" "$sre" "$cre" "$expect" 120
    if [ -n "$msgs" ] && [[ "${H_ROWS[-1]}" == *" pass "* ]]; then
        # rak_client could not check echoes (see --first-byte): count what the server got.
        got=$(grep -c '^EVENT message' "$HARNESS_LOGS/$name.server.log")
        if [ "$got" != "$msgs" ]; then
            H_PASS=$((H_PASS - 1)); H_FAIL=$((H_FAIL + 1))
            H_ROWS[-1]="${H_ROWS[-1]/ pass / fail } server received $got/$msgs messages"
        fi
    fi
}

libraknet_client_vs() {
    local peer="$1" proto="$2" p fb="" echo="--expect-echo" msgs=""
    p="$(pflag "$proto")"
    local rc="$RAK_CLIENT --host 127.0.0.1 --port @PORT@ $p"
    if [ "$peer" = rust-raknet ]; then
        if has_client_opt --first-byte; then fb="--first-byte 254"; else echo=""; fi
    fi
    lc "$peer" "$proto" ping "--offline-data $OFF" "$RAK_PING --host 127.0.0.1 --port @PORT@" "" "$OFF"
    [ -z "$echo" ] && msgs=1
    lc "$peer" "$proto" handshake "" "$rc --count 1 --size 32 --reliability reliable_ordered $fb $echo" \
        "" "" "" "$msgs"
    for ch in 0 1 2 3; do
        [ -z "$echo" ] && msgs=50
        lc "$peer" "$proto" "ordered-ch$ch" "--echo-reliability reliable_ordered --echo-channel $ch" \
            "$rc --count 50 --size 200 --reliability reliable_ordered --channel $ch $fb $echo" "" "" "" "$msgs"
    done
    lc "$peer" "$proto" reliable "--echo-reliability reliable" \
        "$rc --count 50 --size 300 --reliability reliable $fb $echo" "" "" "" "$msgs"
    if can_sequenced "$peer"; then
        lc "$peer" "$proto" unrel-sequenced "--echo-reliability unreliable_sequenced --echo-channel 1" \
            "$rc --count 50 --size 100 --reliability unreliable_sequenced --channel 1 $fb $echo"
    fi
    [ -z "$echo" ] && msgs=1
    lc "$peer" "$proto" big-1MiB "--echo-reliability reliable_ordered" \
        "$rc --count 1 --size 1048576 --reliability reliable_ordered $fb $echo" "" "" "$(big_expect "$peer")" "$msgs"
    lc "$peer" "$proto" disconnect "" "$rc --count 1 --size 64 --reliability reliable_ordered $fb $echo" \
        'EVENT disconnected .*reason=(notification|closed)'
    if can_password "$peer"; then
        lc "$peer" "$proto" wrong-password "--password secret" "$rc --count 1 --password wrong" \
            "" "connection refused: invalid password" refused
        lc "$peer" "$proto" right-password "--password secret" "$rc --count 1 --password secret $echo"
    fi
    if can_max_conn "$peer" && want "$peer libraknet-client@$proto server-full"; then
        # One slot, taken by a foreign client that holds it; libraknet must be told "server full".
        local port name start hpid out
        port=$(free_udp_port); n=$((n + 1)); name="r$n-$peer-lc-full"; start=$(date +%s.%N)
        # shellcheck disable=SC2086
        if server_start "$name" "$port" $PEER $peer server --port $port $p --max-conn 1; then
            # shellcheck disable=SC2086
            $PEER $peer client --port $port $p --scenario hold --hold 30 > "$HARNESS_LOGS/$name.holder.log" 2>&1 &
            hpid=$!
            for _ in $(seq 1 100); do grep -q 'EVENT connected' "$HARNESS_LOGS/$name.holder.log" && break; sleep 0.05; done
            # shellcheck disable=SC2086
            timeout -k 5 30 $RAK_CLIENT --host 127.0.0.1 --port $port $p --count 1 > "$HARNESS_LOGS/$name.client.log" 2>&1
            local crc=$?
            kill "$hpid" 2>/dev/null; wait "$hpid" 2>/dev/null
            server_stop TERM
            out="$(judge "$name" "$crc" "" "server full" refused)"
            record "$peer" "libraknet-client@$proto" server-full "${out%%|*}" "$(elapsed "$start")" "${out#*|}"
        else
            server_stop KILL; record "$peer" "libraknet-client@$proto" server-full fail "$(elapsed "$start")" "server did not start"
        fi
    fi
    if want "$peer libraknet-client@$proto vanish"; then
        if has_client_opt --hold; then
            local port; port=$(free_udp_port); n=$((n + 1))
            run_vanish "r$n-$peer-lc-vanish" "$peer" "libraknet-client@$proto" "$port" \
                "$PEER $peer server --port $port $p" \
                "$RAK_CLIENT --host 127.0.0.1 --port $port $p --count 1 --hold 25" "connected|accepted" 40
        else
            record "$peer" "libraknet-client@$proto" vanish skip 0 "rak_client has no --hold option yet"
        fi
    fi
}

# ---- foreign client -> libraknet server ----------------------------------------------
# ls_case PEER PROTO SCENARIO 'RAK_SERVER ARGS' 'MODE [PEER CLIENT ARGS]' [SERVER_REGEX] [EXPECT]
# (options in the client args come last, so a --protocol there wins)
ls_case() {
    local peer="$1" proto="$2" scen="$3" sargs="$4" cargs="$5" sre="${6:-}" expect="${7:-}"
    want "$peer libraknet-server@$proto $scen" || return 0
    local port cre="" mode="${5%% *}" rest=""
    [ "$mode" != "$cargs" ] && rest="${cargs#* }"
    port=$(free_udp_port); n=$((n + 1))
    [ "$mode" = ping ] && cre="$OFF"
    run_case "r$n-$peer-ls-$scen" "$peer" "libraknet-server@$proto" "$scen" "$port" \
        "$RAK_SERVER --port $port $(pflag "$proto") $sargs" \
        "$PEER $peer $mode --port $port $(pflag "$proto") $rest" "$sre" "$cre" "$expect" 120
}

libraknet_server_vs() {
    local peer="$1" proto="$2" fb="" all=all
    [ "$peer" = rust-raknet ] && fb="--first-byte 0xfe"
    can_sequenced "$peer" || all=all-reliable
    local pingx=""
    # rust-raknet and jsp-raknet read pong data as u16be length + string (Bedrock); libraknet
    # sends the offline data raw unless it formats Bedrock pongs at protocol >= 10.
    [ "$proto" != 6 ] && pingx=xfail
    ls_case "$peer" "$proto" ping "--offline-data $OFF" "ping --timeout 5" "" "$pingx"
    ls_case "$peer" "$proto" "$all" "--echo" "client --scenario $all --timeout 60 $fb" "" "$(big_expect "$peer")"
    ls_case "$peer" "$proto" disconnect "--echo" "client --scenario disconnect --timeout 20 $fb" "$RAK_DISCONNECT_RE"
    if [ "$peer" = raknet-native ]; then
        ls_case "$peer" "$proto" wrong-password "--echo --password secret" "client --scenario wrong-password --password wrong --timeout 15"
        ls_case "$peer" "$proto" right-password "--echo --password secret" "client --scenario handshake --password secret --timeout 15"
    elif [ "$peer" = py-raknet ]; then
        ls_case "$peer" "$proto" no-password "--echo --password secret" "client --scenario wrong-password --timeout 15"
    fi
    if can_see_full "$peer" && want "$peer libraknet-server@$proto server-full"; then
        local port name start hpid out
        port=$(free_udp_port); n=$((n + 1)); name="r$n-$peer-ls-full"; start=$(date +%s.%N)
        # shellcheck disable=SC2086
        if server_start "$name" "$port" $RAK_SERVER --port $port $(pflag "$proto") --max-connections 1 --echo; then
            # shellcheck disable=SC2086
            $PEER $peer client --port $port $(pflag "$proto") --scenario hold --hold 30 > "$HARNESS_LOGS/$name.holder.log" 2>&1 &
            hpid=$!
            for _ in $(seq 1 100); do grep -q 'EVENT connected' "$HARNESS_LOGS/$name.holder.log" && break; sleep 0.05; done
            # shellcheck disable=SC2086
            timeout -k 5 30 $PEER $peer client --port $port $(pflag "$proto") --scenario server-full --timeout 15 > "$HARNESS_LOGS/$name.client.log" 2>&1
            local crc=$?
            kill "$hpid" 2>/dev/null; wait "$hpid" 2>/dev/null
            server_stop TERM
            out="$(judge "$name" "$crc")"
            record "$peer" "libraknet-server@$proto" server-full "${out%%|*}" "$(elapsed "$start")" "${out#*|}"
        else
            server_stop KILL; record "$peer" "libraknet-server@$proto" server-full fail "$(elapsed "$start")" "server did not start"
        fi
    fi
    ls_case "$peer" "$proto" incompatible "--echo" "client --scenario incompatible --timeout 15 --protocol $([ "$proto" = 6 ] && echo 7 || echo 6)"
    if want "$peer libraknet-server@$proto vanish"; then
        local port; port=$(free_udp_port); n=$((n + 1))
        run_client_vanish "r$n-$peer-ls-vanish" "$peer" "libraknet-server@$proto" "$port" \
            "$RAK_SERVER --port $port $(pflag "$proto") --echo" \
            "$PEER $peer client --port $port $(pflag "$proto") --scenario hold --hold 60" 'EVENT connected' "$RAK_LOST_RE" 30
    fi
}

for peer in $PEERS; do
    peer_ready "$peer" || { record "$peer" - - fail 0 "peer not installed"; continue; }
    for proto in $(protocols_of "$peer"); do
        echo "== $peer, protocol $proto" >&2
        libraknet_client_vs "$peer" "$proto"
        libraknet_server_vs "$peer" "$proto"
    done
done
report
[ "$H_FAIL" = 0 ]
