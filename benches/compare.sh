#!/usr/bin/env bash
# Before/after benchmark of two revisions in one session, runs interleaved so that a
# drifting machine moves both sides alike (issue 14: "no figure worse beyond noise").
#
#   benches/compare.sh [--runs N] [--groups "G1;G2;..."] BEFORE_REV [AFTER_REV]
#
# Builds BEFORE_REV (a detached git worktree under $TMPDIR) and AFTER_REV (default: the
# working tree) in Release with the baselines, then for each of N runs (default 3) and
# each suite group (default below; names as benches/suite.py plans them, matched as
# prefixes) runs the group once with each build, alternating. Raw lines go to
# benches/report/compare/{before,after}/results.txt; benches/compare.py prints the
# table (before and after medians, ratio, spreads, verdict) to
# benches/report/compare/COMPARE.md and stdout. Needs what benches/run.sh needs (it
# installs ENet and builds RakNet 4 for T6 when run first).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
runs=3
groups="T1 64 B;T1 1024 B;T2;T4;T3 10000 clients;T5 5 % loss;T6 5 % loss"
while [[ $# -gt 0 ]]; do
  case $1 in
    --runs) runs=$2; shift ;;
    --groups) groups=$2; shift ;;
    -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
    -*) echo "unknown option $1" >&2; exit 2 ;;
    *) break ;;
  esac
  shift
done
[[ $# -ge 1 ]] || { echo "usage: $0 [--runs N] [--groups LIST] BEFORE_REV [AFTER_REV]" >&2; exit 2; }
before_rev=$1
after_rev=${2:-}
out="$root/benches/report/compare"
rm -rf "$out"; mkdir -p "$out/before" "$out/after"

. "$root/scripts/common.sh"
ensure_tools
dpkg -s libenet-dev >/dev/null 2>&1 || apt_install libenet-dev

trees=()
cleanup() { for t in "${trees[@]}"; do git -C "$root" worktree remove --force "$t" 2>/dev/null || true; done; }
trap cleanup EXIT
tree_of() { # REV NAME -> a detached worktree of REV at a fixed path (so that the build
  # directory's CMake cache, which names its source, stays valid from one call to the next)
  local t="${TMPDIR:-/tmp}/libraknet-compare-$2"
  git -C "$root" worktree remove --force "$t" 2>/dev/null || rm -rf "$t"
  git -C "$root" worktree prune
  git -C "$root" worktree add --detach -q "$t" "$1"
  trees+=("$t"); echo "$t"
}
build() { # SOURCE BUILD_DIR
  cmake -S "$1" -B "$2" -DCMAKE_BUILD_TYPE=Release -DRAKNET_BENCH_BASELINES=ON \
        -DRAKNET_BUILD_TESTS=OFF >/dev/null
  cmake --build "$2" -j "$(nproc)" >/dev/null
}
bsrc=$(tree_of "$before_rev" before)
asrc=$root; [[ -n $after_rev ]] && asrc=$(tree_of "$after_rev" after)
echo "building before ($before_rev) and after (${after_rev:-working tree})" >&2
build "$bsrc" "$root/build-bench-before"
build "$asrc" "$root/build-bench"
{ echo "before=$(git -C "$bsrc" rev-parse --short HEAD)"
  echo "after=$(git -C "$asrc" rev-parse --short HEAD)$([[ -z $after_rev && -n $(git -C "$root" status --porcelain --untracked-files=no) ]] && echo -dirty)"
  echo "runs=$runs"; echo "started=$(date -u '+%Y-%m-%d %H:%M:%S UTC')"; } > "$out/meta.txt"

ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
py=python3
IFS=';' read -r -a glist <<< "$groups"
status=0
for ((r = 1; r <= runs; r++)); do
  for g in "${glist[@]}"; do
    for side in before after; do
      bin="$root/build-bench/bin"; [[ $side == before ]] && bin="$root/build-bench-before/bin"
      echo "== run $r/$runs, $g, $side" >&2
      "$py" "$root/benches/suite.py" --bin "$bin" --out "$out/$side" --runs 1 --only "$g" --append || status=1
    done
  done
done
echo "ended=$(date -u '+%Y-%m-%d %H:%M:%S UTC')" >> "$out/meta.txt"
"$py" "$root/benches/compare.py" "$out" | tee "$out/COMPARE.md"
exit $status
