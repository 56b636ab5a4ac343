#!/usr/bin/env bash
# iobench show / compare / merge on synthetic results files with known samples (the expected
# p-values are scipy's, see tests/harness/unit/test_stats.c), bad input (exit 2 naming the
# file), and show on a real run when `iobench run` works.
set -uo pipefail
iobench=${IOBENCH:?set by meson}
py=/usr/bin/python3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# --- synthetic runs ---
$py - "$tmp" <<'PY'
import json, os, sys
tmp = sys.argv[1]

def row(name, items=None, rt=1000.0, placement="compact", cell=None, **counters):
    r = {"name": name, "run_name": name, "run_type": "iteration", "repetitions": 5,
         "threads": 2, "iterations": 1000, "real_time": rt, "cpu_time": rt, "time_unit": "ns",
         "iobench_placement": placement}
    if items is not None:
        r["items_per_second"] = items
    if cell:
        r["iobench_cell"] = cell
    r.update(counters)
    return r

def ctx(sha="abc123", cells=None, shard=None, matrix=None, quiet=True):
    c = {"date": "2024-01-01T00:00:00", "host_name": "testhost", "iobench_git_sha": sha,
         "iobench_cpu_model": "Test CPU", "iobench_quiet": quiet,
         "iobench_quiet_reason": "load1 before 0.10 <= 0.60; steal 0.00 % <= 2 %",
         "iobench_simulated": False, "iobench_calibration": {"clock_ns": 20.0, "shard": shard}}
    if cells is not None:
        c["iobench_cells"] = [{"id": x, "status": "done", "seconds": 1.0} for x in cells]
        c["iobench_shard"] = shard
        c["iobench_matrix"] = matrix if matrix is not None else {"families": ["queue/pairs"], "threads": [2]}
    return c

def write(d, c, rows):
    os.makedirs(os.path.join(tmp, d), exist_ok=True)
    json.dump({"context": c, "benchmarks": rows}, open(os.path.join(tmp, d, "results.json"), "w"), indent=1)

M = 1e6
a_iort = [10, 11, 12, 10.5, 11.5]
b_iort = [8, 8.5, 9, 8.2, 8.8]
ref = [5, 5.5, 6, 5.2, 5.8]
rows_a, rows_b = [], []
for i in range(5):
    rows_a += [row("queue/pairs/rte_mpmc/threads:2", ref[i] * M),
               row("queue/pairs/iort_mpmc/threads:2", a_iort[i] * M),
               row("queue/pairs/iort_mpmc/threads:2/placement:spread", 3 * M + i, placement="spread"),
               row("queue/handoff/iort_spsc/threads:2", 2 * M + i, p99_ns=1500.0 + i),
               row("harness/hist_record/iob_hist", None, rt=4.0 + i),
               row("queue/spsc/gone/threads:2", 1 * M + i)]
    rows_b += [row("queue/pairs/rte_mpmc/threads:2", ref[i] * M),
               row("queue/pairs/iort_mpmc/threads:2", b_iort[i] * M),
               row("queue/pairs/iort_mpmc/threads:2/placement:spread", 3 * M + i, placement="spread"),
               row("queue/handoff/iort_spsc/threads:2", 2 * M + i, p99_ns=1500.0 + i),
               row("harness/hist_record/iob_hist", None, rt=(4.0 + i) * 0.5),
               row("queue/spsc/new/threads:2", 1 * M + i)]
rows_a.append(row("queue/mpsc/one/threads:2", 1 * M))
rows_b.append(row("queue/mpsc/one/threads:2", 2 * M))
rows_a.append({"name": "queue/pairs/broken/threads:4@compact", "run_name": "queue/pairs/broken/threads:4@compact",
               "run_type": "iteration", "repetitions": 5, "repetition_index": 0, "threads": 4,
               "iterations": 0, "real_time": 0, "cpu_time": 0, "time_unit": "ns",
               "error_occurred": True, "error_message": "cell timed out after 60 s",
               "iobench_cell": "queue/pairs/broken/threads:4@compact", "iobench_placement": "compact"})
write("A", ctx(), rows_a)
write("B", ctx(), rows_b)

# Shards: s1 and s2 disjoint; s3 repeats s1's cell; s4 another matrix; s5 another sha.
c1, c2 = "queue/pairs/iort_mpmc/threads:2@compact", "queue/pairs/rte_mpmc/threads:2@compact"
write("s1", ctx(cells=[c1], shard="1/2"), [row("queue/pairs/iort_mpmc/threads:2", 10 * M, cell=c1)])
write("s2", ctx(cells=[c2], shard="2/2", quiet=False), [row("queue/pairs/rte_mpmc/threads:2", 5 * M, cell=c2)])
write("s3", ctx(cells=[c1], shard="2/2"), [row("queue/pairs/iort_mpmc/threads:2", 9 * M, cell=c1)])
write("s4", ctx(cells=[c2], shard="2/2", matrix={"families": ["queue/spsc"]}), [row("queue/pairs/rte_mpmc/threads:2", 5 * M, cell=c2)])
write("s5", ctx(sha="def456", cells=[c2], shard="2/2"), [row("queue/pairs/rte_mpmc/threads:2", 5 * M, cell=c2)])
for d, name in (("s1", "queue_handoff_iort_spsc_threads-2.csv"), ("s2", "queue_handoff_rte_spsc_threads-2.csv")):
    os.makedirs(os.path.join(tmp, d, "latency"))
    open(os.path.join(tmp, d, "latency", name), "w").write("Value,Percentile,TotalCount,1/(1-Percentile)\n1,0.5,1,2\n")
PY

# --- show ---
for c in show compare merge; do
	check "iobench $c --help" 0 "$iobench" "$c" --help
	check "iobench help $c" 0 "$iobench" help "$c"
	expect_err "iobench $c --bogus" "unknown option '--bogus'" "$iobench" "$c" --bogus
done
check "show A (folder)" 0 "$iobench" show "$tmp/A"
cat "$tmp/out"
expect_out "show header: sha" '^sha +abc123'
expect_out "show header: host and cpu" '^host +testhost, Test CPU'
expect_out "show header: quiet" '^quiet +yes \(load1 before'
expect_out "show header: simulated" '^simulated +no'
expect_out "show lists the error cell with its message" 'queue/pairs/broken/threads:4@compact: cell timed out after 60 s'
expect_out "show group with its reference" '^queue/pairs \(reference: rte_mpmc\)'
expect_out "show iort_mpmc: median 11 M/s, spread, 2.00x the reference" 'iort_mpmc +2 compact +11 M/s +10 M/s - 12 M/s +- +2.00x +5$'
expect_out "show reference itself: 1.00x" 'rte_mpmc +2 compact +5.5 M/s .* 1.00x +5$'
expect_out "show spread placement: no reference there" 'iort_mpmc +2 spread +3 M/s .* - +5$'
expect_out "show p99 on handoff" 'iort_spsc +2 compact +2 M/s .* 1.5 us +- +5$'
expect_out "show real time when no items" 'iob_hist +1 compact +6 ns +4 ns - 8 ns'
check "show A/results.json --json" 0 "$iobench" show --json "$tmp/A/results.json"
$py - "$tmp/out" <<'PY' && echo "ok: show --json content" || { echo "FAIL: show --json content"; fails=$((fails + 1)); }
import json, sys
d = json.load(open(sys.argv[1]))
rows = {(r["name"]): r for r in d["benchmarks"]}
r = rows["queue/pairs/iort_mpmc/threads:2"]
assert r["median"] == 11e6 and r["min"] == 10e6 and r["max"] == 12e6, r
assert abs(r["speedup_vs_reference"] - 2.0) < 1e-12, r
assert rows["queue/pairs/iort_mpmc/threads:2/placement:spread"]["speedup_vs_reference"] is None
assert rows["queue/handoff/iort_spsc/threads:2"]["p99_ns"] == 1502.0
assert d["errors"][0]["error_message"] == "cell timed out after 60 s"
assert d["quiet"] is True and d["git_sha"] == "abc123"
PY

# A RUN is a folder, a results file, or a run name under results/ (iob_run_resolve): every
# command that takes a RUN resolves it the same way.
mkdir -p "$tmp/cwd/results" "$tmp/cwd/results/half"
cp -r "$tmp/A" "$tmp/cwd/results/20260101T000000Z-abc123"
cp -r "$tmp/B" "$tmp/cwd/results/runB"
(cd "$tmp/cwd" && "$iobench" show "$tmp/A") >"$tmp/by-folder" 2>&1
check "show a run name" 0 env -C "$tmp/cwd" "$iobench" show 20260101T000000Z-abc123
sed 's|^run .*||' "$tmp/out" >"$tmp/by-name"
sed -i 's|^run .*||' "$tmp/by-folder"
cmp -s "$tmp/by-name" "$tmp/by-folder" || fail "show NAME prints what show FOLDER prints"
check "compare run names" 0 env -C "$tmp/cwd" "$iobench" compare 20260101T000000Z-abc123 runB
expect_out "compare NAME NAME reads results/NAME/results.json" '^A: results/20260101T000000Z-abc123/results.json$'
check "gate --tier 3 --run NAME" 0 env -C "$tmp/cwd" "$iobench" gate --tier 3 --run runB --trend "$tmp/names.jsonl"
grep -qF '"run":"results/runB/results.json"' "$tmp/names.jsonl" || fail "gate --run NAME: $(cat "$tmp/names.jsonl")"
expect_err "show: unknown run name" "nope: No such file or directory (nor a run of that name in results/)" \
	env -C "$tmp/cwd" "$iobench" show nope
expect_err "show: a run name without results.json" "'results/half' is not a run folder (no results.json)" \
	env -C "$tmp/cwd" "$iobench" show half
expect_err "compare: a hostile name, escaped" 'x\x1b[2J: No such file or directory' \
	env -C "$tmp/cwd" "$iobench" compare $'x\e[2J' runB
grep -q $'\e' "$tmp/err" && fail "compare: ESC reached stderr"

# --- bad input ---
expect_err "show: missing run" "$tmp/nope: No such file or directory" "$iobench" show "$tmp/nope"
expect_err "show: missing file" "$tmp/nope.json" "$iobench" show "$tmp/nope.json"
printf '{\n  "context": {,\n  "benchmarks": []\n}\n' >"$tmp/bad.json"
expect_err "show: malformed JSON names file:line" "$tmp/bad.json:2:" "$iobench" show "$tmp/bad.json"
echo '{"a": 1}' >"$tmp/notresults.json"
expect_err "show: not a results file" "$tmp/notresults.json: not a results file" "$iobench" show "$tmp/notresults.json"
expect_err "show: needs one RUN" "expected one RUN" "$iobench" show
expect_err "compare: malformed B names file:line" "$tmp/bad.json:2:" "$iobench" compare "$tmp/A" "$tmp/bad.json"
expect_err "compare: missing A" "$tmp/nope.json" "$iobench" compare "$tmp/nope.json" "$tmp/B"
expect_err "compare: needs two runs" "expected two runs" "$iobench" compare "$tmp/A"
expect_err "compare: bad alpha" "--alpha" "$iobench" compare --alpha 2 "$tmp/A" "$tmp/B"
expect_err "compare: bad threshold" "--threshold" "$iobench" compare --threshold x "$tmp/A" "$tmp/B"

# --- compare ---
# scipy.stats.mannwhitneyu([10, 11, 12, 10.5, 11.5], [8, 8.5, 9, 8.2, 8.8]) -> p 0.007936507936507936
check "compare A B" 0 "$iobench" compare "$tmp/A" "$tmp/B"
cat "$tmp/out"
expect_out "compare: iort_mpmc regressed, -22.7 %, p 0.007937" '^queue/pairs/iort_mpmc/threads:2 +items/s +11 M/s +8.5 M/s +-22.7% +0.007937 +regressed$'
expect_out "compare: identical samples are the same, p 1" '^queue/pairs/rte_mpmc/threads:2 +items/s +5.5 M/s +5.5 M/s +\+0.0% +1 +same$'
# mannwhitneyu([4, 5, 6, 7, 8], [2, 2.5, 3, 3.5, 4]) -> p 0.015970696353780123 (a tie: normal)
expect_out "compare: real time halved is improved" '^harness/hist_record/iob_hist +time +6 ns +3 ns +-50.0% +0.01597 +improved$'
expect_out "compare: one sample is n/a" '^queue/mpsc/one/threads:2 .* n/a \(need >= 2 samples\)$'
expect_out "compare: removed" '^removed: queue/spsc/gone/threads:2'
expect_out "compare: added" '^added: queue/spsc/new/threads:2'
expect_out "compare: error-only benchmark is removed" '^removed: queue/pairs/broken/threads:4@compact'
expect_out "compare: summary last" '^summary: 6 compared: 1 improved, 1 regressed, 3 same, 1 n/a; 1 added, 2 removed$'
[ "$(tail -n 1 "$tmp/out" | cut -c1-8)" = "summary:" ] && echo "ok: summary is the last line" || { echo "FAIL: summary is the last line"; fails=$((fails + 1)); }
check "compare B A: iort_mpmc improved" 0 "$iobench" compare "$tmp/B" "$tmp/A"
expect_out "compare B A: improved" '^queue/pairs/iort_mpmc/threads:2 .* \+29.4% +0.007937 +improved$'
check "compare --threshold 30: same" 0 "$iobench" compare --threshold 30 "$tmp/A" "$tmp/B"
expect_out "compare --threshold 30: same" '^queue/pairs/iort_mpmc/threads:2 .* same$'
check "compare --alpha 0.005: same" 0 "$iobench" compare --alpha 0.005 "$tmp/A" "$tmp/B"
expect_out "compare --alpha 0.005: same" '^queue/pairs/iort_mpmc/threads:2 .* same$'
check "compare A A: all same" 0 "$iobench" compare "$tmp/A" "$tmp/A/results.json"
expect_out "compare A A: summary" '^summary: 8 compared: 0 improved, 0 regressed, 6 same, 2 n/a; 0 added, 0 removed$'

# --- merge ---
expect_err "merge: --out required" "--out DIR is required" "$iobench" merge "$tmp/s1" "$tmp/s2"
check "merge s1 s2" 0 "$iobench" merge --out "$tmp/m" "$tmp/s1" "$tmp/s2/results.json"
$py - "$tmp" <<'PY' && echo "ok: merged results" || { echo "FAIL: merged results"; fails=$((fails + 1)); }
import json, os, sys
t = sys.argv[1]
d = json.load(open(os.path.join(t, "m", "results.json")))
c = d["context"]
assert [r["name"] for r in d["benchmarks"]] == ["queue/pairs/iort_mpmc/threads:2", "queue/pairs/rte_mpmc/threads:2"]
assert [x["id"] for x in c["iobench_cells"]] == ["queue/pairs/iort_mpmc/threads:2@compact", "queue/pairs/rte_mpmc/threads:2@compact"]
assert c["iobench_shard"] is None
assert c["iobench_merged_from"] == [os.path.join(t, "s1", "results.json"), os.path.join(t, "s2", "results.json")]
sc = c["iobench_shard_contexts"]
assert [x["iobench_calibration"]["shard"] for x in sc] == ["1/2", "2/2"] and sc[1]["iobench_shard"] == "2/2"
assert c["iobench_quiet"] is False and "s2" in c["iobench_quiet_reason"]
assert sorted(os.listdir(os.path.join(t, "m", "latency"))) == ["queue_handoff_iort_spsc_threads-2.csv", "queue_handoff_rte_spsc_threads-2.csv"]
PY
check "show merged run" 0 "$iobench" show "$tmp/m"
expect_out "show merged: ratio across shards" 'iort_mpmc +2 compact +10 M/s .* 2.00x +1$'
before=$(md5sum <"$tmp/m/results.json")
expect_err "merge: refuses an existing results.json" "already exists" "$iobench" merge --out "$tmp/m" "$tmp/s1" "$tmp/s2"
[ "$(md5sum <"$tmp/m/results.json")" = "$before" ] && echo "ok: existing results.json untouched" || { echo "FAIL: results.json changed"; fails=$((fails + 1)); }
expect_err "merge: overlapping cells name the cell" "cell 'queue/pairs/iort_mpmc/threads:2@compact' is in both" "$iobench" merge --out "$tmp/m3" "$tmp/s1" "$tmp/s3"
[ ! -e "$tmp/m3/results.json" ] && echo "ok: nothing written on overlap" || { echo "FAIL: wrote on overlap"; fails=$((fails + 1)); }
expect_err "merge: another matrix names the shard" "$tmp/s4/results.json: iobench_matrix differs" "$iobench" merge --out "$tmp/m4" "$tmp/s1" "$tmp/s4"
expect_err "merge: another sha refused" "git sha def456 differs" "$iobench" merge --out "$tmp/m5" "$tmp/s1" "$tmp/s5"
check "merge: another sha with --force" 0 "$iobench" merge --force --out "$tmp/m5" "$tmp/s1" "$tmp/s5"
grep -qF "warning: $tmp/s5/results.json: git sha def456" "$tmp/err" && echo "ok: --force warns" || { echo "FAIL: --force warns"; cat "$tmp/err"; fails=$((fails + 1)); }
expect_err "merge: malformed shard" "$tmp/bad.json:2:" "$iobench" merge --out "$tmp/m6" "$tmp/s1" "$tmp/bad.json"
# Long non-ASCII context texts: the merged ones are cut at a fixed size, which must fall between
# characters (a split one is invalid UTF-8, which jansson refuses: it was reported as "out of
# memory"). Shard folders u/ and uu/ shift the cut by one byte, so one of them lands mid-'é'.
for d in u uu; do
	mkdir -p "$tmp/$d/1" "$tmp/$d/2"
	$py - "$tmp/$d" <<'PY'
import json, sys
d = sys.argv[1]
for k in (1, 2):
    ctx = {"iobench_git_sha": "abc", "iobench_quiet": False,
           "iobench_quiet_reason": "é" * 2000, "iobench_incomplete": "€" * 700 + "é" * 1000,
           "iobench_cells": [{"id": f"q/p/x{k}", "status": "done"}]}
    rows = [{"name": f"q/p/x{k}", "run_type": "iteration", "real_time": 1.0}]
    json.dump({"context": ctx, "benchmarks": rows}, open(f"{d}/{k}/results.json", "w"))
PY
	check "merge: shards with 2000-character 'é' texts ($d/)" 0 "$iobench" merge --out "$tmp/$d/m" "$tmp/$d/1" "$tmp/$d/2"
	pycheck "merge: the long texts cut between characters, marked ($d/)" '
import json,sys
c=json.load(open(sys.argv[1]))["context"]
r, i = c["iobench_quiet_reason"], c["iobench_incomplete"]
assert r.endswith("é...") and r.startswith(sys.argv[2] + "/1/results.json: ééé"), r[:80]
assert len(r.encode()) <= 2047 and len(i.encode()) <= 2047, (len(r.encode()), len(i.encode()))
assert i.endswith("...") and "; " not in i, i[-20:]' "$tmp/$d/m/results.json" "$tmp/$d"
done
# A shard path that is not UTF-8 (it is recorded in the merged file): exit 2 naming it.
mkdir -p "$tmp/"$'lat\xe9'
cp "$tmp/s1/results.json" "$tmp/"$'lat\xe9/results.json'
expect_err "merge: a shard path that is not UTF-8" "lat\\xe9/results.json: the path is not valid UTF-8" "$iobench" merge --out "$tmp/m7" "$tmp/"$'lat\xe9' "$tmp/s2"

# --- a real run, when `iobench run` works ---
if "$iobench" run --out "$tmp/real" --filter '^harness/' --repetitions 2 --min-time 0.01 \
	--no-calibration >"$tmp/run.out" 2>"$tmp/run.err"; then
	check "show a real run" 0 "$iobench" show "$tmp/real"
	expect_out "show a real run: harness/hist_record" '^harness/hist_record'
	check "compare a real run with itself" 0 "$iobench" compare "$tmp/real" "$tmp/real"
else
	echo "note: iobench run failed here (exit $?); show was checked on synthetic files only"
	sed 's/^/  run stderr: /' "$tmp/run.err" | tail -5
fi

if [ "$fails" -ne 0 ]; then
	echo "$fails check(s) failed"
	exit 1
fi
echo "all checks passed"
