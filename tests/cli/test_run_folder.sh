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

# --- one process per run folder ---
touch "$tmp/afile"
expect_err "--out naming a file" "exists and is not a folder" "$iobench" run --out "$tmp/afile" --matrix "$tmp/one.json" --no-calibration --no-plots

# Two runs released at the same instant (both block opening a FIFO until we open its write end).
for try in 1 2 3 4 5; do
	d=$tmp/race$try
	fifo=$tmp/go$try
	mkfifo "$fifo"
	exec 3<>"$fifo" # held open here, so the runs' opens do not block, only their reads
	(read -r _ <"$fifo"; exec "$iobench" run --matrix "$tmp/one.json" --out "$d" --no-calibration --no-plots >/dev/null 2>"$tmp/race_a$try") &
	a=$!
	(read -r _ <"$fifo"; exec "$iobench" run --matrix "$tmp/one.json" --out "$d" --no-calibration --no-plots >/dev/null 2>"$tmp/race_b$try") &
	b=$!
	bgpids+=("$a" "$b")
	both_waiting() { [ "$(readlink "/proc/$a/fd/0")" = "$fifo" ] && [ "$(readlink "/proc/$b/fd/0")" = "$fifo" ]; }
	poll_until 200 both_waiting || fail "try $try: the two runs did not reach the start line"
	printf 'go\ngo\n' >&3
	exec 3>&-
	wait "$a"; sa=$?
	wait "$b"; sb=$?
	if [ "$sa" -eq 0 ] && [ "$sb" -eq 2 ]; then win=$a lose=$tmp/race_b$try
	elif [ "$sa" -eq 2 ] && [ "$sb" -eq 0 ]; then win=$b lose=$tmp/race_a$try
	else
		fail "try $try: two runs at once into one folder exited $sa and $sb, expected 0 and 2"
		sed 's/^/  a: /' "$tmp/race_a$try"; sed 's/^/  b: /' "$tmp/race_b$try"
		continue
	fi
	grep -qF "run folder $d is in use by another iobench run (pid $win" "$lose" &&
		echo "ok: try $try: one run wins, the other exits 2 naming the holder (pid $win)" ||
		{ fail "try $try: the loser does not name the holder $win"; cat "$lose"; }
	pycheck "try $try: the winner's results.json is whole" '
import json,sys
d=json.load(open(sys.argv[1])); cs=d["context"]["iobench_cells"]
assert len(cs)==1 and cs[0]["status"]=="done", cs
it=[b for b in d["benchmarks"] if b.get("iobench_cell")==cs[0]["id"] and b["run_type"]=="iteration"]
assert len(it)==2, it' "$d/results.json"
done

# A running run holds its folder against --resume; once it is killed -9, --resume proceeds.
cat >"$tmp/slow.json" <<'EOF2'
{"name": "slow", "defaults": {"repetitions": 2, "min_time": 0.2, "warmup": 0, "timeout": 120},
 "suites": [{"family": "harness/hist_record", "impls": ["iob_hist"]},
            {"family": "queue/spsc", "impls": ["iort_spsc", "rte_spsc"], "threads": [2], "params": {"burst": [8]}}]}
EOF2
hr=$tmp/held
"$iobench" run --matrix "$tmp/slow.json" --out "$hr" --no-calibration --no-plots >/dev/null 2>"$tmp/held_err" &
holder=$!
bgpids+=("$holder")
has_results() { [ -s "$hr/results.json" ]; }
if poll_until 600 has_results; then
	expect_err "--resume of a folder in use" "is in use by another iobench run (pid $holder" "$iobench" run --resume "$hr" --no-plots
	expect_err "a new run into a folder in use" "is in use by another iobench run (pid $holder" "$iobench" run --matrix "$tmp/slow.json" --out "$hr" --no-calibration --no-plots
	kill -9 "$holder"
	wait "$holder" 2>/dev/null
	check "--resume after kill -9 is not blocked by the dead run's lock" 0 "$iobench" run --resume "$hr" --no-plots
else
	fail "the held run never wrote results.json"
	cat "$tmp/held_err"
fi

finish
