#!/usr/bin/env bash
# Big results files: show, compare, merge and gate --tier 3 read 100,000 rows (one name each) in
# time linear or n log n in the rows. The loader accepts IOB_RESULTS_MAX_ROWS (10^6) rows; a scan
# per name made these commands quadratic (100,000 rows: minutes). The timeout only bounds such a
# hang; it is not a speed assertion (each command takes a few seconds here).
set -uo pipefail
iobench=${IOBENCH:?set by meson}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
rows=100000
limit=90

# Two shards of one run: $rows rows each, every row its own benchmark and cell; the even rows
# are the reference (rte_mpmc) of the odd ones (iort_mpmc) at the same params.
/usr/bin/python3 - "$tmp" "$rows" <<'PY'
import json, sys
d, n = sys.argv[1], int(sys.argv[2])
for shard in ("a", "b"):
    rows = []
    for i in range(n):
        impl = "iort_mpmc" if i % 2 else "rte_mpmc"
        name = f"queue/pairs/{impl}/n:{i // 2}{shard}/threads:2"
        rows.append({"name": name, "run_name": name, "run_type": "iteration",
                     "iterations": 1, "real_time": 100.0, "cpu_time": 100.0,
                     "time_unit": "ns", "items_per_second": 2e6 if i % 2 else 1e6,
                     "iobench_cell": name + "@compact"})
    ctx = {"iobench_git_sha": "abc", "iobench_matrix": {"name": "big"},
           "iobench_cells": [{"id": r["iobench_cell"], "status": "done"} for r in rows]}
    json.dump({"context": ctx, "benchmarks": rows}, open(f"{d}/{shard}.json", "w"))
PY

check "show $rows rows" 0 timeout $limit "$iobench" show "$tmp/a.json"
[ "$(grep -c ' 2.00x ' "$tmp/out")" -eq $((rows / 2)) ] && echo "ok: show: every iort_mpmc row is 2.00x its reference" ||
	fail "show: $(grep -c ' 2.00x ' "$tmp/out") rows at 2.00x, expected $((rows / 2))"
check "show --json $rows rows" 0 timeout $limit "$iobench" show --json "$tmp/a.json"
check "compare $rows rows with itself" 0 timeout $limit "$iobench" compare "$tmp/a.json" "$tmp/a.json"
last_line "compare: every benchmark compared" "summary: $rows compared: 0 improved, 0 regressed, 0 same, $rows n/a; 0 added, 0 removed"
check "compare $rows rows with $rows others" 0 timeout $limit "$iobench" compare "$tmp/a.json" "$tmp/b.json"
last_line "compare: disjoint runs" "summary: 0 compared: 0 improved, 0 regressed, 0 same, 0 n/a; $rows added, $rows removed"
check "merge two shards of $rows rows" 0 timeout $limit "$iobench" merge --out "$tmp/m" "$tmp/a.json" "$tmp/b.json"
grep -qF "merged 2 shards ($((2 * rows)) rows)" "$tmp/err" && echo "ok: merge: all rows" || fail "merge: $(cat "$tmp/err")"
expect_err "merge: a cell in both shards, found among $rows" "cell 'queue/pairs/rte_mpmc/n:0a/threads:2@compact' is in both $tmp/a.json and $tmp/a.json" \
	timeout $limit "$iobench" merge --out "$tmp/m2" "$tmp/a.json" "$tmp/a.json"
check "gate --tier 3 on $rows rows" 0 timeout $limit "$iobench" gate --tier 3 --run "$tmp/a.json" --trend "$tmp/trend.jsonl"
last_line "gate --tier 3: one ratio per row (the reference against itself too)" "$rows passed, 0 failed"
finish
