#!/usr/bin/env bash
# The whole libraknet benchmark suite in one command (issue 7): builds Release with the
# baselines, runs every test several times for each library, and writes
# benches/report/REPORT.md with PNG plots. Minutes, not hours (--quick: about one).
#
#   benches/run.sh [--quick] [--runs N] [--only PREFIX] [--append] [--build-dir DIR] [--no-build]
#
# --only runs the test groups whose name starts with PREFIX ("T1", "T3 10000", ...);
# with --append their lines are added to the last results instead of replacing them.
# matplotlib comes from the first python3 that has it, else from a venv outside the
# repository (RAKNET_BENCH_VENV, default ~/.cache/libraknet-bench-venv), created once.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build="$root/build-bench"
out="$root/benches/report"
suite_args=()
do_build=1
while [[ $# -gt 0 ]]; do
  case $1 in
    --quick) suite_args+=(--quick) ;;
    --runs) suite_args+=(--runs "$2"); shift ;;
    --only) suite_args+=(--only "$2"); shift ;;
    --append) suite_args+=(--append) ;;
    --build-dir) build=$(realpath -m "$2"); shift ;;
    --no-build) do_build=0 ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
  shift
done

# The baselines are part of the measurement: a fresh machine gets them rather than a
# report without them. ENet from Debian (libenet-dev), RakNet 4.081 C++ for T6 from the
# interop suite's pinned npm raknet-native build (cached in ~/.cache/libraknet-interop).
# shellcheck source=scripts/common.sh
. "$root/scripts/common.sh"
if [[ $do_build == 1 ]]; then
  ensure_tools
  dpkg -s libenet-dev >/dev/null 2>&1 || apt_install libenet-dev
  if [[ " ${suite_args[*]} " != *" --quick "* ]]; then
    ensure_interop_tools
    "$root/tests/interop/setup.sh" raknet-native \
      || echo "RakNet 4 (npm raknet-native) could not be built: T6 runs without it" >&2
  fi
fi

if [[ $do_build == 1 ]]; then
  cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DRAKNET_BENCH_BASELINES=ON \
        -DRAKNET_BUILD_TESTS=OFF >/dev/null
  cmake --build "$build" -j "$(nproc)"
fi

# 10 000 clients need 10 000 sockets in the load generator.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

py=""
for cand in python3 /usr/bin/python3; do
  if command -v "$cand" >/dev/null && "$cand" -c 'import matplotlib' 2>/dev/null; then
    py=$cand; break
  fi
done
if [[ -z $py ]]; then
  venv=${RAKNET_BENCH_VENV:-$HOME/.cache/libraknet-bench-venv}
  if [[ ! -x $venv/bin/python ]] || ! "$venv/bin/python" -c 'import matplotlib' 2>/dev/null; then
    echo "installing matplotlib into $venv" >&2
    python3 -m venv "$venv" && "$venv/bin/pip" install --quiet matplotlib \
      || echo "matplotlib unavailable: the report will have no plots" >&2
  fi
  py=python3
  [[ -x $venv/bin/python ]] && py=$venv/bin/python
fi

mkdir -p "$out"
status=0
"$py" "$root/benches/suite.py" --bin "$build/bin" --out "$out" "${suite_args[@]}" || status=$?
[[ -s $out/results.txt ]] && "$py" "$root/benches/report.py" --dir "$out"
exit $status
