#!/usr/bin/env bash
# Every public header (runtime/include/iort/*.h) and harness header compiles on its own, as C11
# and as C++17, with warnings as errors: no hidden include-order dependencies, C++-safe.
set -euo pipefail
root=${IOBENCH_SOURCE_ROOT:?set by meson}
cd "$root"
cc=${CC:-cc}
cxx=${CXX:-c++}
# Public runtime headers and the harness's C interfaces (bench/ headers are workload-private).
mapfile -t headers < <(ls runtime/include/iort/*.h harness/*/*.h 2>/dev/null | sort)
[ ${#headers[@]} -gt 0 ] || { echo "no headers found"; exit 1; }
bad=0
for h in "${headers[@]}"; do
	inc="#include \"$root/$h\""
	if ! printf '%s\n' "$inc" | "$cc" -std=gnu11 -Wall -Wextra -Wpedantic -Werror \
		-Iruntime/include -Iharness/lib -Iharness/gbench -Iharness/cmd -fsyntax-only -x c -; then
		echo "FAIL (C): $h"
		bad=$((bad + 1))
	fi
	if ! printf '%s\n' "$inc" | "$cxx" -std=c++17 -Wall -Wextra -Wpedantic -Werror \
		-Iruntime/include -Iharness/lib -Iharness/gbench -Iharness/cmd -fsyntax-only -x c++ -; then
		echo "FAIL (C++): $h"
		bad=$((bad + 1))
	fi
done
echo "checked ${#headers[@]} headers as C and C++, $bad failures"
[ "$bad" -eq 0 ]
