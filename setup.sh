#!/usr/bin/env bash
# iobench setup: install the Debian packages the build, tests and default run need, configure
# build/, then optionally run the main job or the tests.
#
#   ./setup.sh            install what is missing, configure and build
#   ./setup.sh run [ARGS] ... then `iobench run ARGS` (default set; results under results/)
#   ./setup.sh test       ... then every test suite (unit, lint, bench-smoke, stress)
#
# Environment: IOBENCH_NO_OPTIONAL=1 skips the optional baseline packages; IOBENCH_BUILD_DIR picks
# the build folder (default build); CI=true builds with -Dwerror=true.
# Idempotent: packages already installed are not touched, `apt-get update` runs once and only when
# something is missing, and an existing build folder is reused.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cd "$here"

# Needed by the build, the tests and the default run.
core_packages=(
	gcc g++ pkg-config git meson ninja-build
	libhwloc-dev hwloc liburcu-dev libbenchmark-dev libjansson-dev libcmocka-dev
	python3 python3-scipy libbenchmark-tools gnuplot-nox clang-format valgrind liburing-dev
)
# Optional baselines (meson features, auto-detected).
optional_packages=(libck-dev libtbb-dev libuv1-dev libevent-dev libdpdk-dev libcaf-dev)

say() { printf 'setup: %s\n' "$*" >&2; }
die() { printf 'setup: error: %s\n' "$*" >&2; exit 2; }

as_root() {
	if [ "$(id -u)" -eq 0 ]; then
		"$@"
	elif command -v sudo >/dev/null 2>&1; then
		sudo "$@"
	else
		die "need root to install packages, and sudo is not available: run as root: $*"
	fi
}

install_packages() {
	local want=("${core_packages[@]}") missing=() p
	[ "${IOBENCH_NO_OPTIONAL:-0}" = 1 ] || want+=("${optional_packages[@]}")
	command -v dpkg-query >/dev/null 2>&1 || die "dpkg-query not found: this script expects Debian 12"
	for p in "${want[@]}"; do
		if [ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" != 'install ok installed' ]; then
			missing+=("$p")
		fi
	done
	if [ ${#missing[@]} -eq 0 ]; then
		say "all ${#want[@]} packages already installed"
		return
	fi
	say "installing: ${missing[*]}"
	as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q
	as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
		"${missing[@]}"
}

configure_and_build() {
	local dir=${IOBENCH_BUILD_DIR:-build} opts=()
	[ "${CI:-}" = true ] && opts+=(-Dwerror=true)
	if [ -f "$dir/build.ninja" ]; then
		say "reusing $dir/"
		[ ${#opts[@]} -eq 0 ] || meson configure "$dir" "${opts[@]}"
	else
		say "configuring $dir/"
		meson setup "$dir" "${opts[@]}"
	fi
	ninja -C "$dir"
}

cmd=${1:-}
[ $# -gt 0 ] && shift
case "$cmd" in
"" | setup)
	install_packages
	configure_and_build
	;;
run)
	install_packages
	configure_and_build
	exec "${IOBENCH_BUILD_DIR:-build}/harness/iobench" run "$@"
	;;
test)
	install_packages
	configure_and_build
	exec meson test -C "${IOBENCH_BUILD_DIR:-build}" --print-errorlogs "$@"
	;;
-h | --help | help)
	sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'
	;;
*)
	die "unknown command '$cmd' (expected: run, test, or nothing; see ./setup.sh --help)"
	;;
esac
