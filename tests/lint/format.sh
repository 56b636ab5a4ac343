#!/usr/bin/env bash
# Every C/C++ source in the tree matches .clang-format (clang-format 14, Debian 12).
set -euo pipefail
root=${IOBENCH_SOURCE_ROOT:?set by meson}
cd "$root"
command -v clang-format >/dev/null || { echo "clang-format not installed (setup.sh installs it)"; exit 1; }
mapfile -t files < <(find runtime harness bench tests -type f \( -name '*.c' -o -name '*.h' -o -name '*.cc' \) | sort)
[ ${#files[@]} -gt 0 ] || { echo "no sources found under $root"; exit 1; }
bad=0
for f in "${files[@]}"; do
	if ! clang-format --dry-run --Werror "$f" >/dev/null 2>&1; then
		echo "not formatted: $f  (fix: clang-format -i $f)"
		bad=$((bad + 1))
	fi
done
echo "checked ${#files[@]} files, $bad not formatted"
[ "$bad" -eq 0 ]
