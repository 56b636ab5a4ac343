#!/usr/bin/env bash
# libiort exports only iort_* symbols, and every function a public header marks IORT_API is
# really exported (a declared-but-missing API fails here, not in a user's link).
set -euo pipefail
lib=${1:?usage: exports.sh path/to/libiort.so}
root=${IOBENCH_SOURCE_ROOT:?set by meson}
[ -f "$lib" ] || { echo "no such library: $lib"; exit 1; }
mapfile -t syms < <(nm -D --defined-only "$lib" | awk '$2 != "A" { print $3 }' | sort -u)
[ ${#syms[@]} -gt 0 ] || { echo "no exported symbols in $lib"; exit 1; }
bad=0
for s in "${syms[@]}"; do
	case "$s" in
	iort_*) ;;
	*) echo "exported but not iort_*: $s"; bad=$((bad + 1)) ;;
	esac
done
# The declared name is the identifier right before '(' (not a struct type in the return type).
mapfile -t declared < <(grep -ho 'IORT_API[^;(]*\biort_[a-z0-9_]*[[:space:]]*(' "$root"/runtime/include/iort/*.h |
	grep -o 'iort_[a-z0-9_]*[[:space:]]*($' | tr -d '( ' | sort -u)
# A set, not `printf | grep -q`: under pipefail grep's early exit SIGPIPEs printf and a found
# symbol would read as missing.
declare -A exported=()
for s in "${syms[@]}"; do
	exported[$s]=1
done
for d in "${declared[@]}"; do
	if [ -z "${exported[$d]:-}" ]; then
		echo "declared IORT_API but not exported: $d"
		bad=$((bad + 1))
	fi
done
echo "${#syms[@]} exported symbols, ${#declared[@]} declared IORT_API, $bad problems"
[ "$bad" -eq 0 ]
