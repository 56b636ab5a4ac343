#!/usr/bin/env bash
# iobench run's process model: one process per run folder (a lock held for the run's life; a
# second run exits 2 naming the holder; kill -9 does not block --resume); the benchmark child and
# anything it started die with iobench, even on kill -9; --resume validates the recorded cell
# states (exit 2 naming the cell); interleaved rounds (the default) against --interleave cells.
set -uo pipefail
iobench=${IOBENCH:?set by meson}
tmp=$(mktemp -d)
bgpids=()
cleanup() {
	for p in "${bgpids[@]}"; do kill -9 "$p" 2>/dev/null; done
	rm -rf "$tmp"
}
trap cleanup EXIT
fails=0
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
py=/usr/bin/python3

# alive PID: the process exists and is not a zombie (a zombie has ended; it only awaits reaping).
alive() {
	local st
	st=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 1
	[ -n "$st" ] && [ "$st" != Z ]
}
# poll_until N CMD...: run CMD every 50 ms until it succeeds, at most N times.
poll_until() {
	local n=$1
	shift
	for _ in $(seq 1 "$n"); do
		"$@" && return 0
		sleep 0.05
	done
	return 1
}

cat >"$tmp/one.json" <<'EOF2'
{"name": "one", "defaults": {"repetitions": 2, "min_time": 0.01, "warmup": 0, "timeout": 120},
 "suites": [{"family": "harness/hist_record", "impls": ["iob_hist"]}]}
EOF2

# --- kill -9 of iobench kills the benchmark child and its children ---
# A stand-in benchmark binary: records its pid and its child's, then waits for that child.
cat >"$tmp/fakebench" <<'EOF2'
#!/bin/sh
sleep 600 &
echo "$$ $!" >"$IOB_TEST_PIDS.tmp"
mv "$IOB_TEST_PIDS.tmp" "$IOB_TEST_PIDS"
wait
EOF2
chmod +x "$tmp/fakebench"
pids_written() { [ -s "$tmp/pids" ]; }
IOB_TEST_PIDS=$tmp/pids "$iobench" run --bench "$tmp/fakebench" --matrix "$tmp/one.json" --out "$tmp/k9" --no-calibration --no-plots >/dev/null 2>"$tmp/k9_err" &
bg=$!
bgpids+=("$bg")
if poll_until 600 pids_written; then
	read -r bench grandchild <"$tmp/pids"
	kill -9 "$bg"
	wait "$bg" 2>/dev/null
	both_gone() { ! alive "$bench" && ! alive "$grandchild"; }
	if poll_until 200 both_gone; then
		echo "ok: kill -9 of iobench ends the benchmark child ($bench) and its child ($grandchild)"
	else
		fail "after kill -9 of iobench: benchmark child $bench alive: $(alive "$bench" && echo yes || echo no), its child $grandchild alive: $(alive "$grandchild" && echo yes || echo no)"
		kill -9 "$bench" "$grandchild" 2>/dev/null
	fi
else
	fail "the stand-in benchmark never started"
	cat "$tmp/k9_err"
fi

finish
