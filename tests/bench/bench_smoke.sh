#!/usr/bin/env bash
# bench-smoke: every registered benchmark runs a few iterations (fixed-iterations mode) and the
# binary's JSON is valid and has one row per registered benchmark, none of them failed.
set -euo pipefail
bench=${IOBENCH_BENCH:?set by meson}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

"$bench" --iobench_list --benchmark_filter=. >"$tmp/list.txt"
n=$(wc -l <"$tmp/list.txt")
[ "$n" -gt 0 ] || { echo "no benchmarks registered"; exit 1; }
echo "$n registered benchmarks"

"$bench" --iobench_fixed_iterations=10 --benchmark_filter=. \
	--benchmark_out="$tmp/out.json" --benchmark_out_format=json >"$tmp/console.txt" 2>&1 || {
	cat "$tmp/console.txt"; echo "benchmark binary failed"; exit 1; }

/usr/bin/python3 - "$tmp/list.txt" "$tmp/out.json" <<'PY'
import json, sys
names = [l.strip() for l in open(sys.argv[1]) if l.strip()]
doc = json.load(open(sys.argv[2]))
assert isinstance(doc.get("context"), dict), "no context object"
rows = {b["name"]: b for b in doc["benchmarks"]}
bad = skipped = 0
for n in names:
    # fixed-iterations mode inserts /iterations:10 before /threads:N
    row = next((r for k, r in rows.items() if k.replace("/iterations:10", "") == n), None)
    if row is None:
        print(f"MISSING {n}"); bad += 1; continue
    if row.get("error_occurred"):
        msg = row.get("error_message") or ""
        # A baseline whose library is not installed registers anyway and says so: a skip.
        if " not built: install " in msg:
            print(f"skip    {n}: {msg}"); skipped += 1; continue
        print(f"ERROR   {n}: {msg}"); bad += 1; continue
    if row["iterations"] < 10 or not (row["real_time"] >= 0):
        print(f"BAD     {n}: iterations={row['iterations']} real_time={row['real_time']}"); bad += 1; continue
    print(f"ok      {n}: {row['iterations']} iterations")
print(f"{len(names)} benchmarks, {skipped} skipped (baseline not built), {bad} problems")
sys.exit(1 if bad else 0)
PY
