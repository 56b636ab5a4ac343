#!/usr/bin/env bash
# iobench run's process model: one process per run folder (a lock held for the run's life; a
# second run exits 2 naming the holder; kill -9 does not block --resume); the benchmark child and
# anything it started die with iobench, even on kill -9, and so do the children of gate --tier 2,
# list and plot (gnuplot); --resume validates the recorded cell states (exit 2 naming the
# cell); interleaved rounds (the default) against --interleave cells.
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
# Long enough (a second or more) that the loser of a race meets the winner still running.
cat >"$tmp/race.json" <<'EOF2'
{"name": "race", "defaults": {"repetitions": 2, "min_time": 0.5, "warmup": 0, "timeout": 120},
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
# kill9_ends_children "what" cmd...: cmd (iobench) starts the stand-in; kill -9 of iobench must end
# the stand-in and its child.
kill9_ends_children() {
	local what=$1 bg bench grandchild
	shift
	rm -f "$tmp/pids"
	IOB_TEST_PIDS=$tmp/pids "$@" >/dev/null 2>"$tmp/k9_err" &
	bg=$!
	bgpids+=("$bg")
	if ! poll_until 600 pids_written; then
		fail "$what: the stand-in never started"
		cat "$tmp/k9_err"
		kill -9 "$bg" 2>/dev/null
		return
	fi
	read -r bench grandchild <"$tmp/pids"
	kill -9 "$bg"
	wait "$bg" 2>/dev/null
	both_gone() { ! alive "$bench" && ! alive "$grandchild"; }
	if poll_until 200 both_gone; then
		echo "ok: $what: kill -9 of iobench ends its child ($bench) and the child's child ($grandchild)"
	else
		fail "$what: after kill -9 of iobench: child $bench alive: $(alive "$bench" && echo yes || echo no), its child $grandchild alive: $(alive "$grandchild" && echo yes || echo no)"
		kill -9 "$bench" "$grandchild" 2>/dev/null
	fi
}
kill9_ends_children "run" "$iobench" run --bench "$tmp/fakebench" --matrix "$tmp/one.json" --out "$tmp/k9" --no-calibration --no-plots
# The commands that wait for one child (iob_spawn_wait) run it under the same keeper.
kill9_ends_children "gate --tier 2" "$iobench" gate --tier 2 --baseline-bench "$tmp/fakebench" --candidate-bench "$tmp/fakebench"
kill9_ends_children "list" "$iobench" list --bench "$tmp/fakebench"
mkdir -p "$tmp/plotrun"
echo '{"context": {}, "benchmarks": [{"name": "queue/pairs/x/threads:1", "run_type": "iteration", "real_time": 1.0, "items_per_second": 5.0}]}' >"$tmp/plotrun/results.json"
kill9_ends_children "plot (gnuplot)" env IOBENCH_GNUPLOT="$tmp/fakebench" "$iobench" plot "$tmp/plotrun"

# --- one process per run folder ---
touch "$tmp/afile"
expect_err "--out naming a file" "exists and is not a folder" "$iobench" run --out "$tmp/afile" --matrix "$tmp/one.json" --no-calibration --no-plots

# Two runs released at the same instant (both block opening a FIFO until we open its write end).
for try in 1 2 3 4 5; do
	d=$tmp/race$try
	fifo=$tmp/go$try
	mkfifo "$fifo"
	exec 3<>"$fifo" # held open here, so the runs' opens do not block, only their reads
	(read -r _ <"$fifo"; exec "$iobench" run --matrix "$tmp/race.json" --out "$d" --no-calibration --no-plots >/dev/null 2>"$tmp/race_a$try") &
	a=$!
	(read -r _ <"$fifo"; exec "$iobench" run --matrix "$tmp/race.json" --out "$d" --no-calibration --no-plots >/dev/null 2>"$tmp/race_b$try") &
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
{"name": "slow", "defaults": {"repetitions": 2, "min_time": 0.5, "warmup": 0, "timeout": 120},
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

# --- interleaved rounds (the default) and --interleave cells ---
cat >"$tmp/rounds.json" <<'EOF2'
{"name": "rounds", "defaults": {"repetitions": 3, "min_time": 0.2, "warmup": 0, "timeout": 120},
 "suites": [{"family": "harness/hist_record", "impls": ["iob_hist"]},
            {"family": "queue/spsc", "impls": ["iort_spsc", "rte_spsc", "ck_ring_spsc"], "threads": [2],
             "params": {"burst": [8]}, "placements": ["compact", "spread"]}]}
EOF2
# ok_lines ERR: the finished child runs of a run's stderr, "<repetition> <cell>" one a line.
ok_lines() { sed -nE 's/^\[[0-9]+\/[0-9]+\] ([^ ]+) \(repetition ([0-9]+)\/[0-9]+\) ok .*/\2 \1/p' "$1"; }
check "run (rounds by default)" 0 "$iobench" run --matrix "$tmp/rounds.json" --out "$tmp/r" --no-calibration --no-plots --seed 11
cp "$tmp/err" "$tmp/r_err"
ok_lines "$tmp/r_err" >"$tmp/r_seq"
check "run --interleave cells" 0 "$iobench" run --matrix "$tmp/rounds.json" --out "$tmp/c" --no-calibration --no-plots --seed 11 --interleave cells
pycheck "rounds: repetition k of every cell before k+1, round 1 in the recorded order, later rounds reshuffled" '
import json,sys
d=json.load(open(sys.argv[1])); c=d["context"]
seq=[l.split() for l in open(sys.argv[2]).read().splitlines()]
cells=[x["id"] for x in c["iobench_cells"]]
assert c["iobench_interleave"]=="rounds", c.get("iobench_interleave")
assert len(seq)==3*len(cells), seq
rounds=[[cell for r,cell in seq if r==str(k)] for k in (1,2,3)]
assert [int(r) for r,_ in seq]==sorted(int(r) for r,_ in seq), "a round started before the last ended"
assert rounds[0]==cells, (rounds[0], cells)
assert all(sorted(x)==sorted(cells) for x in rounds), rounds
assert rounds[1]!=rounds[0] or rounds[2]!=rounds[0], "never reshuffled"
assert all(x["status"]=="done" and x["repetitions_done"]==3 for x in c["iobench_cells"])
' "$tmp/r/results.json" "$tmp/r_seq"
pycheck "rounds and cells give every cell rows of the same shape; aggregates as Google Benchmark computes them" '
import json,sys,statistics as st
a,b=[json.load(open(p)) for p in sys.argv[1:3]]
assert b["context"]["iobench_interleave"]=="cells"
assert all("repetitions_done" not in x for x in b["context"]["iobench_cells"])
def shape(d):
    out={}
    for r in d["benchmarks"]:
        out.setdefault(r["iobench_cell"],[]).append((r["name"],r["run_name"],r["run_type"],r.get("aggregate_name"),
            r.get("aggregate_unit"),r["repetitions"],r.get("repetition_index"),tuple(r),
            r["iterations"] if r["run_type"]=="aggregate" else None))
    return out
sa,sb=shape(a),shape(b)
assert sa==sb, [(k,sa[k],sb.get(k)) for k in sa if sa[k]!=sb.get(k)][:1]
assert [r["iobench_cell"] for r in a["benchmarks"]]==[r["iobench_cell"] for r in b["benchmarks"]]
f={"mean":st.mean,"median":st.median,"stddev":st.stdev,"cv":lambda x: st.stdev(x)/st.mean(x)}
n=0
for cell in sa:
    rows=[r for r in a["benchmarks"] if r["iobench_cell"]==cell]
    it=[r for r in rows if r["run_type"]=="iteration"]
    assert [r["repetition_index"] for r in it]==[0,1,2], it
    for ag in [r for r in rows if r["run_type"]=="aggregate"]:
        for key,v in ag.items():
            if isinstance(v,float):
                want=f[ag["aggregate_name"]]([r[key] for r in it])
                assert abs(want-v)<=1e-9*max(1.0,abs(want)), (cell,ag["aggregate_name"],key,want,v); n+=1
assert n>=4*2*len(sa), n
' "$tmp/r/results.json" "$tmp/c/results.json"
expect_err "bad --interleave" "--interleave must be rounds or cells" "$iobench" run --interleave sideways --out "$tmp/bad"
expect_err "--resume cannot change --interleave" "--interleave cannot change" "$iobench" run --resume "$tmp/r" --interleave cells

# kill -9 in the middle of a round, then --resume: it picks up in that round, in that round's order.
kr=$tmp/kr
"$iobench" run --matrix "$tmp/rounds.json" --out "$kr" --no-calibration --no-plots --seed 11 >/dev/null 2>"$tmp/kr_err" &
bg=$!
bgpids+=("$bg")
mid_run() {
	"$py" -c '
import json,sys
try: cs=json.load(open(sys.argv[1]))["context"]["iobench_cells"]
except Exception: sys.exit(1)
sys.exit(0 if 2<=sum(x["repetitions_done"] for x in cs)<len(cs)*2 else 1)' "$kr/results.json" 2>/dev/null
}
if poll_until 1200 mid_run; then
	kill -9 "$bg"
	wait "$bg" 2>/dev/null
	cp "$kr/results.json" "$tmp/kr_before.json"
	check "--resume in the middle of a round" 0 "$iobench" run --resume "$kr" --no-plots
	cp "$tmp/err" "$tmp/kr_resume_err"
	ok_lines "$tmp/kr_err" >"$tmp/kr_seq1"
	ok_lines "$tmp/kr_resume_err" >"$tmp/kr_seq2"
	pycheck "resume continued the interrupted round in its order; no repetition lost or repeated" '
import json,sys
whole,p,s=[open(f).read().splitlines() for f in sys.argv[1:4]]
a,b=[json.load(open(f)) for f in sys.argv[4:6]]
assert p and s and whole[:len(p)]==p and whole[len(whole)-len(s):]==s, (p, s)
assert len(whole)-len(s)-len(p) in (0,1), (len(whole), len(p), len(s))
before=[r for r in a["benchmarks"]]
for cell in {x["id"] for x in b["context"]["iobench_cells"]}:
    it=[r for r in b["benchmarks"] if r["iobench_cell"]==cell and r["run_type"]=="iteration"]
    assert [r["repetition_index"] for r in it]==[0,1,2], (cell, it)
    assert len([r for r in b["benchmarks"] if r["iobench_cell"]==cell and r["run_type"]=="aggregate"])==4
    old=[r for r in before if r["iobench_cell"]==cell]
    assert it[:len(old)]==old, cell
assert all(x["status"]=="done" for x in b["context"]["iobench_cells"])
' "$tmp/r_seq" "$tmp/kr_seq1" "$tmp/kr_seq2" "$tmp/kr_before.json" "$kr/results.json"
else
	fail "the run to kill never got to its second repetition"
	cat "$tmp/kr_err"
fi

# --- --resume validates the recorded cells: exit 2 naming the cell, the file untouched ---
# bad_resume WHAT TEXT RUN PYTHON: copy RUN, edit its results.json (d: the JSON, cs: its
# iobench_cells), and expect --resume to refuse it with TEXT, leaving the file as it was.
bad_resume() {
	local what=$1 text=$2 run=$3 edit=$4 dst=$tmp/edit$RANDOM
	cp -r "$run" "$dst"
	rm -f "$dst/.lock"
	"$py" -c '
import json,sys
p=sys.argv[1]; d=json.load(open(p)); cs=d["context"]["iobench_cells"]
exec(sys.argv[2])
json.dump(d,open(p,"w"),indent=1)' "$dst/results.json" "$edit"
	local sum
	sum=$(md5sum <"$dst/results.json")
	expect_err "resume refuses $what" "$text" "$iobench" run --resume "$dst" --no-plots
	[ "$sum" = "$(md5sum <"$dst/results.json")" ] || fail "resume refusing $what changed results.json"
}
first_r=$("$py" -c 'import json,sys; print(json.load(open(sys.argv[1]))["context"]["iobench_cells"][0]["id"])' "$tmp/r/results.json")
first_c=$("$py" -c 'import json,sys; print(json.load(open(sys.argv[1]))["context"]["iobench_cells"][0]["id"])' "$tmp/c/results.json")
bad_resume "a cell listed twice" "cell $first_c is listed twice" "$tmp/c" 'cs.append(dict(cs[0], status="pending"))'
bad_resume "a done cell set to pending (rounds)" "cell $first_r is pending with all 3 repetitions done" "$tmp/r" 'cs[0]["status"]="pending"'
bad_resume "a done cell set back to round 0" "cell $first_r is pending after 0 repetitions but has 7 rows" "$tmp/r" 'cs[0]["status"]="pending"; cs[0]["repetitions_done"]=0'
bad_resume "a done cell set to pending (cells)" "cell $first_c is pending after 0 repetitions but has 7 rows" "$tmp/c" 'cs[0]["status"]="pending"'
bad_resume "an unknown status" "cell $first_r has status 'finished'" "$tmp/r" 'cs[0]["status"]="finished"'
bad_resume "a missing status" "cell $first_r has status missing" "$tmp/r" 'del cs[0]["status"]'
bad_resume "a cell not in the matrix" "(queue/spsc/nope/threads:2@compact) is not a cell of its matrix" "$tmp/r" 'cs[0]["id"]="queue/spsc/nope/threads:2@compact"'
bad_resume "a cell dropped from iobench_cells" "cell $first_r has rows but iobench_cells does not list it" "$tmp/r" 'del cs[0]'
bad_resume "a bad repetitions_done" "cell $first_r: repetitions_done must be a whole number 0..3" "$tmp/r" 'cs[0]["status"]="pending"; cs[0]["repetitions_done"]=9'
check "resume of a valid finished run has nothing to do" 0 "$iobench" run --resume "$tmp/r" --no-plots

finish
