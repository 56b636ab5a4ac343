#!/usr/bin/env bash
# show presents latency scenarios (pool/idle_wakeup, issue 10): a synthetic run with
# pool/idle_wakeup (rows carrying p50_ns .. max_ns, manual time) and pool/spawn_many_local (no
# percentiles) must give
#  - show: the latency table for pool/idle_wakeup, with the medians over repetitions of p50, p99,
#    p99.9 and max, and the p50's speedup over the reference's p50 (tbb), '-' where the
#    reference did not run; the standard table for pool/spawn_many_local;
#  - show --json: p50_ns beside p99_ns in every row (null when not measured).
set -uo pipefail
iobench=${IOBENCH:?set by meson}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

/usr/bin/python3 - "$tmp" <<'PY'
import json, os, sys
tmp = sys.argv[1]
rows = []
def row(name, rep, ips, rt, **counters):
    r = {"name": name, "run_name": name, "run_type": "iteration", "repetitions": 3,
         "repetition_index": rep, "threads": 1, "iterations": 10, "real_time": rt,
         "cpu_time": rt, "time_unit": "ns", "iobench_placement": "compact",
         "items_per_second": ips}
    r.update(counters)
    rows.append(r)
# impl -> p50, p99, p999, max (ns) at gap:0; repetitions scale 1.1, 0.9, 1.0 (medians: these).
lat = {"tbb": (800, 1400, 6500, 90000), "iort_pool": (400, 1000, 5000, 50000),
       "seed_pool": (8000, 28000, 3e6, 5.6e6)}
for impl, v in lat.items():
    for gap in ("0", "1ms"):
        if impl == "tbb" and gap == "1ms":
            continue  # the reference did not run there
        for rep, f in enumerate((1.1, 0.9, 1.0)):
            c = dict(zip(("p50_ns", "p99_ns", "p999_ns", "max_ns"), (x * f for x in v)))
            row(f"pool/idle_wakeup/{impl}/gap:{gap}/workers:1/manual_time/threads:1", rep,
                1e9 / (v[0] * f), v[0] * f, **c)
for impl, ips in (("tbb", 3.6e6), ("iort_pool", 12e6)):
    for rep in range(3):
        row(f"pool/spawn_many_local/{impl}/workers:2/real_time/threads:1", rep, ips, 3e8)
ctx = {"date": "2026-01-01T00:00:00+00:00", "host_name": "pool-host", "num_cpus": 2,
       "iobench_git_sha": "0123456789ab", "iobench_cpu_model": "Test CPU",
       "iobench_topology_source": "system", "iobench_simulated": False,
       "iobench_quiet": True, "iobench_quiet_reason": "quiet",
       "iobench_references": {"pool/idle_wakeup": "tbb", "pool/spawn_many_local": "tbb"}}
os.makedirs(f"{tmp}/run")
json.dump({"context": ctx, "benchmarks": rows}, open(f"{tmp}/run/results.json", "w"), indent=1)
PY

check "show a pool run" 0 "$iobench" show "$tmp/run"
cat "$tmp/out"
expect_out "latency table header" \
	'^  impl/params +threads placement +p50 +p99 +p99.9 +max +p50 vs ref +n$'
expect_out "tbb, the reference" \
	'^  tbb/gap:0/workers:1 +1 compact +800 ns +1.4 us +6.5 us +90 us +1.00x +3$'
expect_out "iort_pool: half the reference's p50" \
	'^  iort_pool/gap:0/workers:1 +1 compact +400 ns +1 us +5 us +50 us +2.00x +3$'
expect_out "seed_pool: a tenth of it" \
	'^  seed_pool/gap:0/workers:1 +1 compact +8 us +28 us +3 ms +5.6 ms +0.10x +3$'
expect_out "no reference measured: '-'" \
	'^  iort_pool/gap:1ms/workers:1 +1 compact +400 ns +1 us +5 us +50 us +- +3$'
expect_out "spawn_many_local keeps the standard table" \
	'^  iort_pool/workers:2 +1 compact +12 M/s +12 M/s - 12 M/s +- +3.33x +3$'
[ "$(grep -c 'p50 vs ref' "$tmp/out")" -eq 1 ] || fail "one latency header, for pool/idle_wakeup only"
check "show --json a pool run" 0 "$iobench" show --json "$tmp/run"
pycheck "show --json: p50_ns beside p99_ns" '
import json, sys
d = {r["name"]: r for r in json.load(open(sys.argv[1]))["benchmarks"]}
r = d["pool/idle_wakeup/iort_pool/gap:0/workers:1/manual_time/threads:1"]
assert abs(r["p50_ns"] - 400) < 1e-9 and abs(r["p99_ns"] - 1000) < 1e-9, r
assert d["pool/spawn_many_local/tbb/workers:2/real_time/threads:1"]["p50_ns"] is None
' "$tmp/out"
finish
