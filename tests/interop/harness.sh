# Sourced by prove.sh and run.sh: start a server, run a client against it, judge
# the outcome from exit codes and event lines, and print a result matrix.
#
# A case is judged by:
#   - the client's exit status: 0 pass, 3 "unsupported" (case skipped), else fail;
#   - optionally a regex that must appear in the server's output (waited for up to
#     HARNESS_SERVER_WAIT seconds before the server is stopped, so a line printed a
#     moment after the client exits still counts), and one for the client's output.
# Logs of every case go to $HARNESS_LOGS/<case>.{server,client}.log. Results are kept in
# $HARNESS_LOGS/results.tsv (one line per case, also from background jobs), so cases may
# run in subshells.
#
# Result words: pass; fail; skip (the peer lacks the role or capability; reason given);
# known-quirk (failed exactly the way a documented bug of the foreign peer makes it fail:
# reported, not counted as a failure); prove.sh also uses xfail, xpass and flaky.

HARNESS_LOGS="${HARNESS_LOGS:-$(mktemp -d "${TMPDIR:-/tmp}/raknet-interop.XXXXXX")}"
HARNESS_SERVER_WAIT="${HARNESS_SERVER_WAIT:-3}"
mkdir -p "$HARNESS_LOGS"
H_RESULTS="$HARNESS_LOGS/results.tsv"
: > "$H_RESULTS"
H_SEQ=0
H_SERVER_PID=""

# wait_udp_bound PORT SECONDS: true once something listens on UDP PORT (reads /proc/net/udp*).
wait_udp_bound() {
    local hex end
    hex=$(printf ':%04X ' "$1")
    end=$(( $(date +%s) + $2 ))
    while [ "$(date +%s)" -le "$end" ]; do
        if grep -qs -- "$hex" /proc/net/udp /proc/net/udp6; then return 0; fi
        sleep 0.05
    done
    return 1
}

# wait_log FILE REGEX SECONDS: true once FILE has a line matching REGEX (extended).
wait_log() {
    local i
    for i in $(seq 1 $(( $3 * 20 ))); do
        grep -Eq -- "$2" "$1" 2>/dev/null && return 0
        sleep 0.05
    done
    grep -Eq -- "$2" "$1" 2>/dev/null
}

# server_start NAME PORT CMD...: starts a server in the background, waits for its port.
server_start() {
    local name="$1" port="$2"; shift 2
    "$@" > "$HARNESS_LOGS/$name.server.log" 2>&1 &
    H_SERVER_PID=$!
    if ! wait_udp_bound "$port" 15; then
        echo "server did not bind UDP port $port within 15 s" >> "$HARNESS_LOGS/$name.server.log"
        return 1
    fi
    sleep 0.2 # let it finish starting up after bind
}

# server_stop [SIGNAL]: stops the server started last (TERM, then KILL after 3 s).
server_stop() {
    local sig="${1:-TERM}" i
    [ -n "$H_SERVER_PID" ] || return 0
    kill -s "$sig" "$H_SERVER_PID" 2>/dev/null
    for i in $(seq 1 30); do
        kill -0 "$H_SERVER_PID" 2>/dev/null || break
        sleep 0.1
    done
    kill -s KILL "$H_SERVER_PID" 2>/dev/null
    wait "$H_SERVER_PID" 2>/dev/null
    H_SERVER_PID=""
}

# record PEER DIRECTION SCENARIO RESULT SECONDS [NOTE] [KEY]
# KEY orders the final matrix (default: the order of recording).
record() {
    local peer="$1" dir="$2" scen="$3" res="$4" secs="$5" note="${6:-}" key="${7:-}"
    if [ -z "$key" ]; then H_SEQ=$((H_SEQ + 1)); key=$H_SEQ; fi
    note="${note//$'\t'/ }"; note="${note//$'\n'/ }"
    printf '%05d\t%s\t%s\t%s\t%s\t%s\t%s\n' "$key" "$peer" "$dir" "$scen" "$res" "$secs" "$note" >> "$H_RESULTS"
    # scripts/test.sh counts every skipped row in its last line (scripts/common.sh, skipped).
    if [ "$res" = skip ] && [ -n "${RAKNET_SKIP_LOG:-}" ]; then
        printf 'SKIPPED: interop: %s %s %s (%s)\n' "$peer" "$dir" "$scen" "${note:-no reason given}" >> "$RAKNET_SKIP_LOG"
    fi
    printf '%-14s %-28s %-16s %-11s %6ss  %s\n' "$peer" "$dir" "$scen" "$res" "$secs" "$note" >&2
}

# judge CASE RC [SERVER_REGEX] [CLIENT_REGEX] [EXPECT]: prints pass|fail|skip|xfail|xpass|flaky and a note.
# EXPECT=xfail marks a documented incompatibility: failing is expected.
# EXPECT=refused: the client must FAIL (exit status not 0 or 3) and its output match
# CLIENT_REGEX, e.g. a libraknet client told "connection refused: invalid password".
# EXPECT=flaky:REGEX marks a documented peer bug that strikes at random: a failure whose
# client log matches REGEX is reported as "flaky" (counted with the skipped), any other
# failure as "fail".
judge() {
    local name="$1" rc="$2" sre="${3:-}" cre="${4:-}" expect="${5:-}" res note=""
    if [ "$expect" = refused ] && [ "$rc" != 3 ]; then
        if [ "$rc" = 0 ]; then res=fail; note="client succeeded but should have been refused"
        elif [ -n "$cre" ] && ! grep -Eqi -- "$cre" "$HARNESS_LOGS/$name.client.log"; then res=fail; note="client rc=$rc but output lacks /$cre/"
        else res=pass; fi
        echo "$res|$note"
        return
    fi
    if [ "$rc" = 3 ]; then
        res=skip
        note="$(grep -m1 '^UNSUPPORTED' "$HARNESS_LOGS/$name.client.log" | cut -c13- | cut -c1-110)"
    elif [ "$rc" = 0 ]; then
        res=pass
        if [ -n "$sre" ] && ! grep -Eq -- "$sre" "$HARNESS_LOGS/$name.server.log"; then res=fail; note="server log lacks /$sre/"; fi
        if [ -n "$cre" ] && ! grep -Eq -- "$cre" "$HARNESS_LOGS/$name.client.log"; then res=fail; note="client log lacks /$cre/"; fi
    else
        res=fail
        note="client rc=$rc: $(grep -m1 -E '^(RESULT|connection refused|error)' "$HARNESS_LOGS/$name.client.log" | cut -c1-100)"
    fi
    if [ "$expect" = xfail ]; then
        case "$res" in pass) res=xpass; note="expected to fail but passed" ;; fail) res=xfail ;; esac
    elif [ "${expect#flaky:}" != "$expect" ] && [ "$res" = fail ] \
        && grep -Eq -- "${expect#flaky:}" "$HARNESS_LOGS/$name.client.log"; then
        res=flaky
    fi
    echo "$res|$note"
}

# run_case NAME PEER DIRECTION SCENARIO PORT 'SERVER CMD' 'CLIENT CMD' [SERVER_REGEX] [CLIENT_REGEX] [EXPECT] [CLIENT_TIMEOUT]
# Commands are strings (word-split, no quoting inside). A SERVER CMD of "-" means
# the server is already running (e.g. shared by several cases).
run_case() {
    local name="$1" peer="$2" dir="$3" scen="$4" port="$5" scmd="$6" ccmd="$7"
    local sre="${8:-}" cre="${9:-}" expect="${10:-}" ctime="${11:-90}" start rc out
    start=$(date +%s.%N)
    if [ "$scmd" != "-" ]; then
        # shellcheck disable=SC2086
        if ! server_start "$name" "$port" $scmd; then
            server_stop KILL
            record "$peer" "$dir" "$scen" fail "$(elapsed "$start")" "server did not start (see $name.server.log)"
            return
        fi
    fi
    # shellcheck disable=SC2086
    timeout -k 5 "$ctime" $ccmd > "$HARNESS_LOGS/$name.client.log" 2>&1
    rc=$?
    if [ -n "$sre" ] && [ "$rc" = 0 ]; then wait_log "$HARNESS_LOGS/$name.server.log" "$sre" "$HARNESS_SERVER_WAIT"; fi
    [ "$scmd" != "-" ] && server_stop TERM
    out="$(judge "$name" "$rc" "$sre" "$cre" "$expect")"
    record "$peer" "$dir" "$scen" "${out%%|*}" "$(elapsed "$start")" "${out#*|}"
}

# run_vanish NAME PEER DIRECTION PORT 'SERVER CMD' 'CLIENT CMD' CONNECTED_REGEX [CLIENT_TIMEOUT] [EXPECT]
# Starts the server, runs the client in the background until CONNECTED_REGEX shows in
# its output, kills the server with SIGKILL and expects the client to exit 0
# (having seen the connection lost) within CLIENT_TIMEOUT.
run_vanish() {
    local name="$1" peer="$2" dir="$3" port="$4" scmd="$5" ccmd="$6" cre="$7" ctime="${8:-30}" expect="${9:-}"
    local start cpid rc i out
    start=$(date +%s.%N)
    # shellcheck disable=SC2086
    if ! server_start "$name" "$port" $scmd; then
        server_stop KILL
        record "$peer" "$dir" vanish fail "$(elapsed "$start")" "server did not start"
        return
    fi
    # shellcheck disable=SC2086
    timeout -k 5 "$ctime" $ccmd > "$HARNESS_LOGS/$name.client.log" 2>&1 &
    cpid=$!
    for i in $(seq 1 200); do
        grep -Eq -- "$cre" "$HARNESS_LOGS/$name.client.log" && break
        kill -0 "$cpid" 2>/dev/null || break
        sleep 0.05
    done
    sleep 0.3
    server_stop KILL
    wait "$cpid"
    rc=$?
    out="$(judge "$name" "$rc" "" "" "$expect")"
    record "$peer" "$dir" vanish "${out%%|*}" "$(elapsed "$start")" "${out#*|}"
}

elapsed() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }

# count RESULT...: how many recorded cases have one of these results.
count() {
    local want=" $* "
    awk -F'\t' -v w="$want" 'index(w, " " $5 " ") > 0' "$H_RESULTS" | wc -l | tr -d ' '
}

report() {
    report_table
    report_summary
}

report_table() {
    echo
    printf '%-14s %-28s %-16s %-11s %7s  %s\n' PEER DIRECTION SCENARIO RESULT TIME NOTE
    sort -t$'\t' -k1,1n "$H_RESULTS" | awk -F'\t' '{ printf "%-14s %-28s %-16s %-11s %6ss  %s\n", $2, $3, $4, $5, $6, $7 }'
    echo
    echo "logs: $HARNESS_LOGS"
}

report_summary() {
    local extra=""
    [ "$(count xfail flaky)" != 0 ] && extra=" ($(count xfail) xfail, $(count flaky) flaky)"
    echo "$(count pass xpass) passed, $(count fail) failed, $(count skip xfail flaky) skipped, $(count known-quirk) known-quirk$extra"
}

# failures: the number of failed cases (for the exit status).
failures() { count fail; }
