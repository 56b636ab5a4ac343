#!/usr/bin/env bash
# Every public header (runtime/include/iort/*.h, the umbrella iort.h among them) and harness header
# compiles on its own, as C11 and as C++17, with warnings as errors: no hidden include-order
# dependencies, C++-safe. The generated <iort/config.h> comes from the build tree.
#   headers.sh [--runtime-only]   --runtime-only (-Dharness=false): the harness's headers need
#                                 hwloc and jansson, so only libiort's are checked; and C++ is
#                                 checked when a C++ compiler is installed (libiort needs none).
set -euo pipefail
root=${IOBENCH_SOURCE_ROOT:?set by meson}
cd "$root"
cc=${CC:-cc}
cxx=${CXX:-c++}
runtime_only=0
case "${1:-}" in
"") ;;
--runtime-only) runtime_only=1 ;;
*) echo "headers.sh: unknown argument '$1' (expected --runtime-only or nothing)"; exit 2 ;;
esac
# Public runtime headers and the harness's C interfaces (bench/ headers are workload-private).
globs=(runtime/include/iort/*.h)
[ "$runtime_only" -eq 1 ] || globs+=(harness/*/*.h)
mapfile -t headers < <(ls "${globs[@]}" 2>/dev/null | sort)
[ ${#headers[@]} -gt 0 ] || { echo "no headers found"; exit 1; }
langs=(C C++)
if ! command -v "$cxx" >/dev/null 2>&1; then
	if [ "$runtime_only" -eq 0 ]; then
		echo "no C++ compiler '$cxx' (the harness build needs one)"
		exit 1
	fi
	echo "no C++ compiler '$cxx': checking as C only"
	langs=(C)
fi
bad=0
for h in "${headers[@]}"; do
	inc="#include \"$root/$h\""
	if ! printf '%s\n' "$inc" | "$cc" -std=gnu11 -Wall -Wextra -Wpedantic -Werror \
		-Iruntime/include -I"${IOBENCH_BUILD_ROOT:?set by meson}/runtime/include" -Iharness/lib -Iharness/gbench -Iharness/cmd -fsyntax-only -x c -; then
		echo "FAIL (C): $h"
		bad=$((bad + 1))
	fi
	[ ${#langs[@]} -eq 2 ] || continue
	if ! printf '%s\n' "$inc" | "$cxx" -std=c++17 -Wall -Wextra -Wpedantic -Werror \
		-Iruntime/include -I"${IOBENCH_BUILD_ROOT:?set by meson}/runtime/include" -Iharness/lib -Iharness/gbench -Iharness/cmd -fsyntax-only -x c++ -; then
		echo "FAIL (C++): $h"
		bad=$((bad + 1))
	fi
done
echo "checked ${#headers[@]} headers as ${langs[*]}, $bad failures"
[ "$bad" -eq 0 ]
