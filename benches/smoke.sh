#!/usr/bin/env bash
# bench_smoke (CTest): every rak_bench mode once with tiny counts against one receiver,
# checking that each prints its BENCH line. Catches breakage, not speed: a few seconds.
# The receiver runs secure mode (recv --secure), so the plain runs connect to a server
# that offers it, and one T1 run (pinned key) and one T2 run (unpinned) connect securely
# and must say lib=libraknet-secure.
#
#   benches/smoke.sh path/to/rak_bench
set -euo pipefail
bench=${1:?usage: smoke.sh path/to/rak_bench}
dir=$(mktemp -d)
server_pid=""
cleanup() {
  if [[ -n $server_pid ]]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  rm -rf "$dir"
}
trap cleanup EXIT

"$bench" recv --port 0 --host 127.0.0.1 --secure --quit-after-ms 60000 >"$dir/server.log" 2>&1 &
server_pid=$!
port=""
for _ in $(seq 1 100); do
  port=$(sed -n 's/^listening port=\([0-9]*\).*/\1/p' "$dir/server.log")
  [[ -n $port ]] && break
  sleep 0.05
done
[[ -n $port ]] || { echo "receiver did not start"; cat "$dir/server.log"; exit 1; }
key=$(sed -n 's/^public-key: \([0-9a-f]\{64\}\)$/\1/p' "$dir/server.log")
[[ -n $key ]] || { echo "receiver printed no public key"; cat "$dir/server.log"; exit 1; }

fail=0
run() { # name, then the rak_bench arguments
  local name=$1; shift
  if ! timeout 60 "$bench" "$@" --host 127.0.0.1 --port "$port" >"$dir/$name.log" 2>&1; then
    echo "FAIL $name (exit status)"; cat "$dir/$name.log"; fail=1; return
  fi
  local line
  line=$(grep '^BENCH ' "$dir/$name.log" || true)
  if [[ -z $line ]]; then
    echo "FAIL $name (no BENCH line)"; cat "$dir/$name.log"; fail=1; return
  fi
  echo "$line"
  if [[ $* == *--secure* || $* == *--server-key* ]] && [[ $line != "BENCH lib=libraknet-secure "* ]]; then
    echo "FAIL $name (not lib=libraknet-secure)"; fail=1
  fi
}

run t1 send --count 2000 --size 64
run t1_unordered send --count 500 --size 1024 --reliability reliable
run t2 pingpong --count 200
run t1_secure send --count 2000 --size 64 --server-key "$key"
run t2_secure pingpong --count 200 --secure
run t3 conns --clients 4 --seconds 1 --settle-ms 100
run t4 send --count 1 --size $((1 << 20)) --test T4
# T5 runs through the library's network simulator, which every build has (raknet.h
# always declares it): no skip, so a broken simulator fails here.
run t5 send --count 50 --size 400 --rate 200 --sim-latency-ms 5 --sim-loss 5 --test T5
kill -0 "$server_pid" 2>/dev/null || { echo "FAIL receiver died"; cat "$dir/server.log"; fail=1; }
exit $fail
