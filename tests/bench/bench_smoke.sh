#!/usr/bin/env bash
# bench-smoke: every benchmark the catalogue lists runs a few iterations (fixed-iterations mode),
# and the binary's JSON is valid and has one row per catalogued benchmark, none of them failed
# except those of implementations the catalogue marks unavailable (a baseline not built), which
# must fail with the catalogue's reason. The catalogue must list exactly what is registered.
set -euo pipefail
bench=${IOBENCH_BENCH:?set by meson}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

"$bench" --iobench_catalogue >"$tmp/catalogue.json"
"$bench" --iobench_list --benchmark_filter=. >"$tmp/list.txt"
# libuv's threadpool is process-global (its size is read once per process: bench/pimpl_uv.c), so
# its 2-worker pool benchmarks run in a process of their own, as iobench run runs every cell.
apart='/uv_threadpool/.*workers:2/'
"$bench" --iobench_fixed_iterations=10 --benchmark_filter="-$apart" \
	--benchmark_out="$tmp/out.json" --benchmark_out_format=json >"$tmp/console.txt" 2>&1 || {
	cat "$tmp/console.txt"; echo "benchmark binary failed"; exit 1; }
"$bench" --iobench_fixed_iterations=10 --benchmark_filter="$apart" \
	--benchmark_out="$tmp/out2.json" --benchmark_out_format=json >"$tmp/console2.txt" 2>&1 || {
	cat "$tmp/console2.txt"; echo "benchmark binary failed (apart)"; exit 1; }

/usr/bin/python3 - "$tmp/catalogue.json" "$tmp/list.txt" "$tmp/out.json" "$tmp/out2.json" <<'PY'
import json, sys
cat = json.load(open(sys.argv[1]))
registered = sorted(l.strip() for l in open(sys.argv[2]) if l.strip())
doc = json.load(open(sys.argv[3]))
apart = json.load(open(sys.argv[4]))
assert apart["benchmarks"], "the benchmarks run apart (uv_threadpool, 2 workers) matched nothing"
doc["benchmarks"] += apart["benchmarks"]
impls = {i["name"]: i for i in cat["impls"]}
# Counters that iobench show and plot read from lock results (harness/lib/results.c, cmd_show.c,
# plot.c): a workload that renames one silently empties the lock table's columns.
LOCK_COUNTERS = ["jain", "jain_min_10ms", "consec", "p50_ns", "p99_ns", "p999_ns", "max_ns",
                 "handover_p50_ns", "handover_p99_ns", "cpu_s_per_macq", "ctxsw_per_kacq"]
POOL_LATENCY = ["p50_ns", "p99_ns", "p999_ns", "max_ns"]
# What docs/benchmarking.md ("Actors") promises of every mailbox_backpressure row.
ACTOR_BP = ["peak_depth", "dropped", "rejected", "muted_ns", "blocked", "throughput", "round_ms"]
listed = {}  # benchmark name -> its implementation
for f in cat["families"]:
    for s in f["scenarios"]:
        for b in s["benchmarks"]:
            listed[b] = b[len(s["name"]) + 1:].split("/")[0]
assert sorted(listed) == registered, \
    f"catalogue and registry differ: {sorted(set(listed) ^ set(registered))[:10]}"
assert registered, "no benchmarks registered"
print(f"{len(registered)} benchmarks, the same in the catalogue and the registry")
assert isinstance(doc.get("context"), dict), "no context object"
rows = {b["name"]: b for b in doc["benchmarks"]}
bad = skipped = unsupported = 0
for n, impl in sorted(listed.items()):
    # fixed-iterations mode inserts /iterations:10 before the time and thread suffixes
    row = next((r for k, r in rows.items() if k.replace("/iterations:10", "") == n), None)
    if row is None:
        print(f"MISSING {n}"); bad += 1; continue
    missing = impls[impl]["missing"]
    if row.get("error_occurred"):
        msg = row.get("error_message") or ""
        if missing and msg == missing:
            print(f"skip    {n}: {msg}"); skipped += 1; continue
        # A pool or actor scenario the implementation cannot express (its adapter's
        # unsupported[]), a timer benchmark whose loop backend this machine refuses (io_uring).
        if n.startswith(("pool/", "timer/", "actor/")) and msg.startswith("unsupported: ") and not missing:
            print(f"skip    {n}: {msg}"); unsupported += 1; continue
        # A loop scenario this machine cannot run (io_uring refused, too few descriptors):
        # bench/bench_reactor.c says so with "environment: <why>".
        if n.startswith("reactor/") and msg.startswith("environment: ") and not missing:
            print(f"skip    {n}: {msg}"); unsupported += 1; continue
        print(f"ERROR   {n}: {msg}"); bad += 1; continue
    if missing:
        print(f"BAD     {n}: ran, but the catalogue says {impl} is missing"); bad += 1; continue
    if row["iterations"] < 10 or not (row["real_time"] >= 0):
        print(f"BAD     {n}: iterations={row['iterations']} real_time={row['real_time']}"); bad += 1; continue
    if n.startswith("pool/idle_wakeup/"):
        absent = [c for c in POOL_LATENCY if c not in row]
        if absent:
            print(f"BAD     {n}: latency counters missing: {', '.join(absent)}"); bad += 1; continue
    if n.startswith("lock/contended/"):
        absent = [c for c in LOCK_COUNTERS if c not in row]
        if absent:
            print(f"BAD     {n}: lock counters missing: {', '.join(absent)}"); bad += 1; continue
    if n.startswith("actor/mailbox_backpressure/"):
        absent = [c for c in ACTOR_BP if c not in row]
        if absent:
            print(f"BAD     {n}: backpressure counters missing: {', '.join(absent)}"); bad += 1; continue
    print(f"ok      {n}: {row['iterations']} iterations")
print(f"{len(listed)} benchmarks, {skipped} skipped (baseline not built), "
      f"{unsupported} unsupported (by their pool or actor runtime, or by this machine), {bad} problems")
sys.exit(1 if bad else 0)
PY
