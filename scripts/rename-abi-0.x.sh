#!/usr/bin/env bash
# Applies the C API renames of ABI 0.x (scripts/rename-abi-0.x.sed) in place.
#
#   scripts/rename-abi-0.x.sh                # every tracked text file that uses the C API
#   scripts/rename-abi-0.x.sh FILE...        # just these (e.g. a branch merged later)
#   scripts/rename-abi-0.x.sh --check [FILE...]
#                                            # list the lines that still use an old name;
#                                            # exit status 1 if there are any
#
# Safe to run again, and on a merge of old and new text. include/raknet.h is generated:
# regenerate it afterwards with `RAKNET_BLESS=1 cargo test --test header`.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
sed_file=scripts/rename-abi-0.x.sed
# Old names as the sed script's patterns see them (the struct rak_peer_stats is
# the one not followed by "(" or '"').
old='\brak_peer_stats\b([^("]|$)|\brak_peer_get_stats\b|\brak_keypair_|\brak_peer_connect_ex\b|\bconnect_ex\b|\brak_peer_connections\b|\brak_config_set_timeout_ms\b|\brak_config_set_occasional_ping_ms\b|\bRAK_ADDRESS_STRLEN\b'

check=false
if [ "${1:-}" = "--check" ]; then
    check=true
    shift
fi

files=("$@")
if [ ${#files[@]} -eq 0 ]; then
    # Tracked text files, less those that name the old spellings on purpose (the
    # changelog, this script, the benchmark report of 0.1, the script's test).
    mapfile -t files < <(git ls-files -- '*.rs' '*.c' '*.cpp' '*.h' '*.md' '*.py' '*.sh' \
        '*.txt' '*.toml' '*.js' '*.in' |
        grep -v -e '^CHANGELOG\.md$' -e '^scripts/rename-abi-0\.x\.' -e '^benches/report/' \
            -e '^tests/abi_renames\.rs$')
fi
if [ ${#files[@]} -eq 0 ]; then
    echo "no files to look at (not a git checkout?)" >&2
    exit 2
fi

if $check; then
    if grep -nHE "$old" -- "${files[@]}"; then
        exit 1
    fi
    exit 0
fi

for f in "${files[@]}"; do
    if grep -qE "$old" -- "$f"; then
        sed -E -i -f "$sed_file" -- "$f"
        echo "renamed in $f"
    fi
done
