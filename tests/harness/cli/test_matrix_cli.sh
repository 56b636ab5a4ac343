#!/usr/bin/env bash
# iobench matrices: a matrix file runs one cell per child (rows tagged with iobench_cell); crash,
# hang and no-match cells become error rows while the others finish; kill -9 mid-run leaves a valid
# results.json that --resume finishes without redoing done cells; SIGINT exits 130, resumable;
# shards cover the cells disjointly; bad specs exit 2 naming file:line and key; past the limits
# (cells, name length, file sizes) exit 2 naming the limit, quickly; list --matrix;
# plain progress lines when stderr is not a terminal.
set -uo pipefail
iobench=${IOBENCH:?set by meson}
tmp=$(mktemp -d)
bgpid=
trap '[ -n "$bgpid" ] && kill -9 "$bgpid" 2>/dev/null; rm -rf "$tmp"' EXIT
fails=0
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
py=/usr/bin/python3
# Poll (bounded) until results.json in $1 lists at least one finished cell.
wait_done_cell() {
	for _ in $(seq 1 600); do
		"$py" -c '
import json,sys
try: d=json.load(open(sys.argv[1]))
except Exception: sys.exit(1)
sys.exit(0 if any(c["status"]!="pending" for c in d["context"]["iobench_cells"]) else 1)' "$1/results.json" 2>/dev/null && return 0
		kill -0 "$bgpid" 2>/dev/null || return 1
		sleep 0.05
	done
	return 1
}

# --- a small matrix: 4 cells ---
cat >"$tmp/small.json" <<'EOF'
{"name": "small",
 "defaults": {"repetitions": 2, "min_time": 0.01, "warmup": 0.01, "timeout": 30},
 "suites": [
  {"family": "harness/hist_record", "impls": ["iob_hist"], "threads": [1]},
  {"family": "queue/spsc", "impls": ["iort_spsc", "rte_spsc"], "threads": [2],
   "params": {"burst": [1, 8]}, "reference": "rte_spsc", "repetitions": 1}
 ]}
EOF
check "list --matrix" 0 "$iobench" list --matrix "$tmp/small.json"
cp "$tmp/out" "$tmp/cells"
expected='harness/hist_record/iob_hist/threads:1@compact
queue/spsc/iort_spsc/burst:1/threads:2@compact
queue/spsc/iort_spsc/burst:8/threads:2@compact
queue/spsc/rte_spsc/burst:1/threads:2@compact
queue/spsc/rte_spsc/burst:8/threads:2@compact'
[ "$(cat "$tmp/cells")" = "$expected" ] && echo "ok: list --matrix prints the 5 sorted cell ids" || { echo "FAIL: list --matrix:"; cat "$tmp/cells"; fails=$((fails + 1)); }
check "list --cells (built-in matrix)" 0 "$iobench" list --cells
[ "$(wc -l <"$tmp/out")" -eq 458 ] && echo "ok: built-in matrix has 458 cells" || { echo "FAIL: built-in matrix has $(wc -l <"$tmp/out") cells"; fails=$((fails + 1)); }

run=$tmp/small
check "run --matrix (5 cells)" 0 "$iobench" run --matrix "$tmp/small.json" --out "$run" --no-calibration --no-plots --seed 7
grep -qE '^\[1/6\] .* ok [0-9.]+ s$' "$tmp/err" && echo "ok: plain progress lines on a non-terminal stderr" || { echo "FAIL: no plain progress lines"; cat "$tmp/err"; fails=$((fails + 1)); }
pycheck "one row group per cell, tagged with iobench_cell; context records matrix, seed, cells" '
import json,sys
d=json.load(open(sys.argv[1])); c=d["context"]; cells=open(sys.argv[2]).read().split()
assert c["iobench_order_seed"]==7 and c["iobench_shard"] is None, (c["iobench_order_seed"], c["iobench_shard"])
assert sorted(x["id"] for x in c["iobench_cells"])==cells, c["iobench_cells"]
assert all(x["status"]=="done" and x["seconds"]>0 for x in c["iobench_cells"]), c["iobench_cells"]
assert c["iobench_matrix"]["name"]=="small" and c["iobench_references"]=={"queue/spsc":"rte_spsc"}
for cell in cells:
    it=[b for b in d["benchmarks"] if b.get("iobench_cell")==cell and b["run_type"]=="iteration"]
    want=2 if cell.startswith("harness/") else 1
    assert len(it)==want, (cell, len(it))
    assert all(b["iobench_placement"]=="compact" for b in it)
assert all("iobench_cell" in b for b in d["benchmarks"])
' "$run/results.json" "$tmp/cells"
check "same seed, same order" 0 "$iobench" run --matrix "$tmp/small.json" --out "$tmp/small2" --no-calibration --no-plots --seed 7
pycheck "the order follows the seed" '
import json,sys
a,b=[[x["id"] for x in json.load(open(p))["context"]["iobench_cells"]] for p in sys.argv[1:3]]
assert a==b, (a,b)' "$run/results.json" "$tmp/small2/results.json"

# --- crash, hang and no-match cells ---
# The good cell gets its own long timeout: the 2 s that bound the hang also timed it out once
# on a loaded machine (a default benchmark run beside CI).
cat >"$tmp/fail.json" <<'EOF'
{"name": "failing",
 "defaults": {"repetitions": 1, "min_time": 0.01, "warmup": 0, "timeout": 2},
 "suites": [
  {"family": "harness/hist_record", "impls": ["iob_hist"], "timeout": 120},
  {"family": "selftest/crash", "impls": ["abort"]},
  {"family": "selftest/hang", "impls": ["spin"]},
  {"family": "queue/spsc", "impls": ["no_such_impl"], "threads": [2]}
 ]}
EOF
check "crash, hang and no-match cells fail the run (exit 1)" 1 env IOBENCH_SELFTEST_CRASH=1 IOBENCH_SELFTEST_HANG=1 "$iobench" run --matrix "$tmp/fail.json" --out "$tmp/fail" --no-calibration --no-plots
pycheck "error rows per contract; the good cell finished" '
import json,sys
d=json.load(open(sys.argv[1])); c=d["context"]
st={x["id"]:x for x in c["iobench_cells"]}
assert st["harness/hist_record/iob_hist/threads:1@compact"]["status"]=="done"
msgs={}
for b in d["benchmarks"]:
    if b.get("error_occurred"):
        assert b["name"]==b["run_name"]==b["iobench_cell"] and b["iterations"]==0 and b["run_type"]=="iteration", b
        assert b["iobench_placement"]=="compact" and b["threads"]>=1 and b["repetitions"]==1, b
        msgs[b["name"]]=b["error_message"]
assert msgs["selftest/crash/abort/threads:1@compact"]=="cell crashed: killed by signal 6 (Aborted)", msgs
assert msgs["selftest/hang/spin/threads:1@compact"]=="cell timed out after 2 s", msgs
assert msgs["queue/spsc/no_such_impl/threads:2@compact"]=="no benchmark matches this cell", msgs
assert all(st[k]["status"]=="error" and st[k]["message"]==m for k,m in msgs.items())
assert any(b["name"].startswith("harness/hist_record") and not b.get("error_occurred") for b in d["benchmarks"])
' "$tmp/fail/results.json"

# --- kill -9 mid-run, then --resume ---
cat >"$tmp/slow.json" <<'EOF'
{"name": "slow",
 "defaults": {"repetitions": 2, "min_time": 0.3, "warmup": 0, "timeout": 60},
 "suites": [
  {"family": "harness/hist_record", "impls": ["iob_hist"]},
  {"family": "queue/spsc", "impls": ["iort_spsc", "rte_spsc", "ck_ring_spsc"], "threads": [2],
   "params": {"burst": [8]}}
 ]}
EOF
kr=$tmp/killed
"$iobench" run --matrix "$tmp/slow.json" --out "$kr" --no-calibration --no-plots --seed 3 >/dev/null 2>"$tmp/kill_err" &
bgpid=$!
if wait_done_cell "$kr"; then
	kill -9 "$bgpid"; wait "$bgpid" 2>/dev/null; bgpid=
	echo "ok: killed iobench -9 after its first finished cell"
else
	echo "FAIL: no cell finished"; cat "$tmp/kill_err"; fails=$((fails + 1))
fi
cp "$kr/results.json" "$tmp/killed.json" 2>/dev/null
pycheck "results.json after kill -9 is valid, with done and pending cells" '
import json,sys
d=json.load(open(sys.argv[1])); cs=d["context"]["iobench_cells"]
done=[x for x in cs if x["status"]=="done"]; pend=[x for x in cs if x["status"]=="pending"]
assert done and pend and len(done)+len(pend)==4, cs
for x in done: assert any(b.get("iobench_cell")==x["id"] for b in d["benchmarks"]), x
for x in pend: assert len([b for b in d["benchmarks"] if b.get("iobench_cell")==x["id"]])==x["repetitions_done"], x
' "$tmp/killed.json"
expect_err "resume refuses changed settings" "--resume continues" "$iobench" run --resume "$kr" --seed 4
check "--resume finishes the run" 0 "$iobench" run --resume "$kr" --no-plots
pycheck "resume ran only the pending cells; done cells kept their rows and seconds" '
import json,sys
a=json.load(open(sys.argv[1])); b=json.load(open(sys.argv[2]))
ca={x["id"]:x for x in a["context"]["iobench_cells"]}; cb=b["context"]["iobench_cells"]
assert [x["id"] for x in a["context"]["iobench_cells"]]==[x["id"] for x in cb], "order changed"
assert all(x["status"]=="done" for x in cb), cb
rows=lambda d,i: [r for r in d["benchmarks"] if r.get("iobench_cell")==i]
for x in cb:
    if ca[x["id"]]["status"]=="done":
        assert x["seconds"]==ca[x["id"]]["seconds"], (x, ca[x["id"]])
        assert rows(a,x["id"])==rows(b,x["id"]), x["id"]
    assert len([r for r in rows(b,x["id"]) if r["run_type"]=="iteration"])==2, x["id"]
assert b["context"]["iobench_resumed"]==1
' "$tmp/killed.json" "$kr/results.json"
grep -q "cells left" "$tmp/err" && echo "ok: resume says how many cells are left" || { echo "FAIL: resume message"; fails=$((fails + 1)); }
check "--resume of a finished run has nothing to do" 0 "$iobench" run --resume "$kr" --no-plots

# --- SIGINT ---
ir=$tmp/interrupted
"$iobench" run --matrix "$tmp/slow.json" --out "$ir" --no-calibration --no-plots >/dev/null 2>"$tmp/int_err" &
bgpid=$!
if wait_done_cell "$ir"; then
	kill -INT "$bgpid"; wait "$bgpid"; st=$?; bgpid=
	[ "$st" -eq 130 ] && echo "ok: SIGINT exits 130" || { echo "FAIL: SIGINT exit $st"; cat "$tmp/int_err"; fails=$((fails + 1)); }
	grep -q -- "--resume $ir" "$tmp/int_err" && echo "ok: SIGINT prints how to resume" || { echo "FAIL: no resume hint"; cat "$tmp/int_err"; fails=$((fails + 1)); }
else
	echo "FAIL: no cell finished before SIGINT"; fails=$((fails + 1)); kill -9 "$bgpid"; bgpid=
fi
pycheck "interrupted run has pending cells" '
import json,sys
cs=json.load(open(sys.argv[1]))["context"]["iobench_cells"]
assert any(x["status"]=="pending" for x in cs) and any(x["status"]=="done" for x in cs), cs
' "$ir/results.json"
check "--resume after SIGINT" 0 "$iobench" run --resume "$ir" --no-plots

# --- shards ---
check "shard 0/2" 0 "$iobench" run --matrix "$tmp/small.json" --shard 0/2 --out "$tmp/s0" --no-calibration --no-plots
check "shard 1/2" 0 "$iobench" run --matrix "$tmp/small.json" --shard 1/2 --out "$tmp/s1" --no-calibration --no-plots
pycheck "shards: same matrix, disjoint cells covering the matrix, shard recorded" '
import json,sys
a,b=[json.load(open(p))["context"] for p in sys.argv[1:3]]; cells=open(sys.argv[3]).read().split()
ia={x["id"] for x in a["iobench_cells"]}; ib={x["id"] for x in b["iobench_cells"]}
assert a["iobench_matrix"]==b["iobench_matrix"]
assert not ia & ib and sorted(ia|ib)==cells, (ia, ib)
assert a["iobench_shard"]=="0/2" and b["iobench_shard"]=="1/2"
' "$tmp/s0/results.json" "$tmp/s1/results.json" "$tmp/cells"
check "list --shard 1/2" 0 "$iobench" list --matrix "$tmp/small.json" --shard 1/2
[ "$(cat "$tmp/out")" = "$(sed -n '2p;4p' "$tmp/cells")" ] && echo "ok: shard 1/2 holds cells 1 and 3" || { echo "FAIL: list --shard"; cat "$tmp/out"; fails=$((fails + 1)); }
for bad in 2/2 -1/2 1 a/b 0/0 1/2x; do
	expect_err "bad --shard $bad" "--shard" "$iobench" run --shard "$bad" --out "$tmp/bad"
done

# --- bad specs: exit 2, file:line and key ---
printf '{"name": "t",\n "suites": [\n  {"family": "queue/spsc",\n   "impls": ["iort_spsc"],\n   "repetitons": 3}\n ]}\n' >"$tmp/typo.json"
expect_err "unknown key: line and suggestion" "typo.json:5: unknown key 'repetitons' in suites[0] (did you mean 'repetitions'?)" "$iobench" run --matrix "$tmp/typo.json" --out "$tmp/bad"
printf '{"suites": [{"family": "queue/spsc",\n  "impls": ["iort_spsc"],\n  "threads": "2"}]}\n' >"$tmp/type.json"
expect_err "wrong type" "type.json:3: key 'threads' in suites[0]" "$iobench" run --matrix "$tmp/type.json" --out "$tmp/bad"
printf '{"suites": [\n {"family": "queue/spsc",\n  "impls": []}]}\n' >"$tmp/empty.json"
expect_err "empty impls" "empty.json:3: key 'impls' in suites[0]: empty list" "$iobench" list --matrix "$tmp/empty.json"
printf '{"defaults": {"min_time": -1},\n "suites": [{"family": "a/b", "impls": ["x"]}]}\n' >"$tmp/num.json"
expect_err "bad number" "num.json:1: key 'min_time' in defaults" "$iobench" run --matrix "$tmp/num.json" --out "$tmp/bad"
printf '{"suites": [{"family": "a/b", "impls": ["x"],\n  "impls": ["y"]}]}\n' >"$tmp/dup.json"
expect_err "duplicate key" "dup.json:2" "$iobench" run --matrix "$tmp/dup.json" --out "$tmp/bad"
printf '{"suites": [\n' >"$tmp/syntax.json"
expect_err "syntax error" "syntax.json:" "$iobench" run --matrix "$tmp/syntax.json" --out "$tmp/bad"
expect_err "missing matrix file" "nope.json" "$iobench" run --matrix "$tmp/nope.json" --out "$tmp/bad"
[ ! -e "$tmp/bad/results.json" ] && echo "ok: bad specs write nothing" || { echo "FAIL: a bad spec wrote results"; fails=$((fails + 1)); }

# --- limits: past them exit 2 naming the limit, quickly (timeout 20 bounds a hang or an O(n^2)
# scan; it is not a speed assertion: each answer takes well under a second) ---
expect_err "list --matrix FOLDER says why" "$tmp: cannot read: Is a directory" "$iobench" list --matrix "$tmp"
"$py" - "$tmp" <<'PY'
import json, sys
d = sys.argv[1]
def spec(path, **suite):
    json.dump({"suites": [dict({"family": "a/b"}, **suite)]}, open(f"{d}/{path}", "w"))
# 1000 impls x 100 threads x 100 placements x 10^4 parameter combinations: 10^11 cells
spec("huge.json", impls=[f"i{i}" for i in range(1000)], threads=list(range(1, 101)),
     placements=[f"p{i}" for i in range(100)],
     params={"a": list(range(100)), "b": list(range(100))})
spec("limit.json", impls=[f"impl_{i}" for i in range(100000)])  # exactly the cell limit
spec("repeat.json", impls=[f"impl_{i}" for i in range(99999)] + ["impl_5"])
spec("longname.json", impls=["x" * 64])
open(f"{d}/fat.json", "w").write('{"suites": [{"family": "a/b", "impls": ["x"]}]}' + " " * (4 << 20))
PY
expect_err "10^11 cells: the limit, not 'out of memory'" "huge.json:1: suites[0] expands to 100000000000 cells (1000 impls x 100 threads x 100 placements x 10000 parameter combinations), more than the limit of 100000 cells" timeout 20 "$iobench" list --matrix "$tmp/huge.json"
check "100000 cells (the limit) list" 0 timeout 20 "$iobench" list --matrix "$tmp/limit.json"
[ "$(wc -l <"$tmp/out")" -eq 100000 ] && echo "ok: 100000 cells listed" || fail "100000 cells: $(wc -l <"$tmp/out") listed"
expect_err "a repeat among 100000 impls (was an O(n^2) scan)" "repeat.json:1: key 'impls' in suites[0]: 'impl_5' is listed twice" timeout 20 "$iobench" list --matrix "$tmp/repeat.json"
expect_err "64-byte name" "key 'impls' in suites[0]: element 0 is 64 bytes long, more than the limit of 63 bytes for a name" "$iobench" list --matrix "$tmp/longname.json"
expect_err "spec file past 4 MiB" "fat.json: larger than the limit of 4194304 bytes (4 MiB) for a matrix file" "$iobench" run --matrix "$tmp/fat.json" --out "$tmp/bad"
truncate -s $((512 * 1024 * 1024 + 1)) "$tmp/huge-results.json"
expect_err "results file past 512 MiB, refused before reading" "huge-results.json: 536870913 bytes, more than the limit of 536870912 bytes (512 MiB) for a results file" timeout 20 "$iobench" show "$tmp/huge-results.json"
rm -f "$tmp/huge-results.json"
expect_err "resume without results.json" "no results.json" "$iobench" run --resume "$tmp/nothing"
mkdir -p "$tmp/plain"
echo '{"context": {}, "benchmarks": []}' >"$tmp/plain/results.json"
expect_err "resume of a non-matrix run" "not a matrix run" "$iobench" run --resume "$tmp/plain"
expect_err "no cell selected" "no cells selected" "$iobench" run --matrix "$tmp/small.json" --filter '^nothing' --out "$tmp/bad"

echo "$fails failures"
[ "$fails" -eq 0 ]
