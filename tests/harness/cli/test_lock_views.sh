#!/usr/bin/env bash
# show and plot present locks (issue 9): a synthetic lock/contended run (2 and 4 threads, two
# critical-section shapes; one implementation from an older binary without jain_min_10ms,
# handover, CPU and context-switch counters; one shape with no jain_min_10ms at all; an
# implementation whose name uses every separator the grammar allows) must give
#  - show: the lock table with the medians of throughput, speedup, jain_min_10ms, consec, wait
#    p99/p99.9/max, handover p50, CPU s/M acq and context switches/k acq, '-' where not measured,
#    and the standard table for lock/uncontended (no fairness counters); --json the same under
#    "lock";
#  - plot: fairness_<group> (throughput, Jain, consec panels) and wait_<group>_threads-N (wait
#    p50..max and handover p50/p99 from the counters, the CSV spectrum when the run has one);
#  - hostile input: context free text carrying gnuplot and shell code is plotted as text (no
#    canary file), and a lock benchmark name carrying code is refused with exit 2 naming it.
set -uo pipefail
iobench=${IOBENCH:?set by meson}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
mkdir -p "$tmp/cwd"
cd "$tmp/cwd" || exit 1 # relative payloads would land here

/usr/bin/python3 - "$tmp" <<'PY'
import copy, json, os, sys
tmp = sys.argv[1]
rows = []
def row(name, threads, rep, ips, rt=1e7, **counters):
    r = {"name": name, "run_name": name, "run_type": "iteration", "repetitions": 3,
         "repetition_index": rep, "threads": threads, "iterations": 10, "real_time": rt,
         "cpu_time": rt, "time_unit": "ns", "iobench_placement": "compact",
         "items_per_second": ips}
    r.update(counters)
    rows.append(r)
# ck_mcs collapses 300x at 4 threads (the throughput panel goes logarithmic).
# impl -> M acq/s, jain_min_10ms, consec, wait p50 p99 p999 max, handover p50 p99 (ns at 2
# threads; x2 at 4), cpu_s_per_macq, ctxsw_per_kacq. Repetitions scale by 0.9, 1.0, 1.1 (the
# ratios and Jain, consec stay), so the medians are these values.
keys = ("jain_min_10ms", "consec", "p50_ns", "p99_ns", "p999_ns", "max_ns", "handover_p50_ns",
        "handover_p99_ns", "cpu_s_per_macq", "ctxsw_per_kacq")
lock = {"pthread_mutex": (3.75, 0.5, 0.89, 40, 2000, 90000, 10.6e6, 900, 5000, 0.52, 0.8),
        "iort_mutex": (3.2, 0.995, 0.55, 300, 1500, 4000, 60000, 600, 1200, 0.6, 1.5),
        "ck_mcs": (1.8, 1.0, 0.0, 500, 900, 2000, 30000, 400, 700, 1.1, 0.0),
        "x-y.z,w": (1.0, 0.9, 0.3, 100, 200, 300, 400, 50, 60, 2.0, 3.0)}
older = ("jain_min_10ms", "handover_p50_ns", "handover_p99_ns", "cpu_s_per_macq", "ctxsw_per_kacq")
for params, scale in (("cs:0/ncs:100", 1.0), ("cs:1000/ncs:100", 0.25)):
    for impl, v in lock.items():
        for t in (2, 4):
            for rep in range(3):
                f = (0.9, 1.0, 1.1)[rep]
                c = {"jain": 1.0}
                for k, x in zip(keys, v[1:]):
                    if (impl == "ck_mcs" and k in older) or \
                       (params.startswith("cs:1000") and k == "jain_min_10ms"):
                        continue
                    if k.endswith("_ns"):
                        x = x * t / 2
                    # Jain and consec vary in another order than the throughput (middle,
                    # highest, lowest): their bars must span their own min..max.
                    g = (1.0, 1.002, 0.996)[rep]
                    c[k] = x * g if k in ("jain_min_10ms", "consec") else x * f
                collapse = 300 if impl == "ck_mcs" and t == 4 else 1  # 4 threads on 2 cores
                row(f"lock/contended/{impl}/{params}/manual_time/threads:{t}", t, rep,
                    v[0] * 1e6 * scale / (t / 2) * f / collapse, **c)
for impl, ips in (("pthread_mutex", 5e7), ("iort_mutex", 6e7)):
    for rep in range(3):
        row(f"lock/uncontended/{impl}", 1, rep, ips, 20.0)
ctx = {"date": "2026-01-01T00:00:00+00:00", "host_name": "lock-host", "num_cpus": 2,
       "iobench_git_sha": "0123456789ab", "iobench_cpu_model": "Test CPU",
       "iobench_topology_source": "synthetic:pack:1 core:2 pu:1", "iobench_simulated": True,
       "iobench_quiet": True, "iobench_quiet_reason": "quiet",
       "iobench_references": {"lock/contended": "pthread_mutex",
                              "lock/uncontended": "pthread_mutex"}}
good = {"context": ctx, "benchmarks": rows}
def save(name, doc):
    os.makedirs(f"{tmp}/{name}", exist_ok=True)
    json.dump(doc, open(f"{tmp}/{name}/results.json", "w"), indent=1)
save("run", good)
payloads = ["x'.system('touch CANARY_q1').'", "`touch CANARY_bt`",
            "\"; system(\"touch CANARY_dq\"); \"", "\"`touch %s/CANARY_abs`\"" % tmp,
            "a\nsystem('touch CANARY_nl')\n", "@fig_footer @impls", "%s%n%x%%", "end\\"]
h = copy.deepcopy(good)
for k in ("date", "host_name", "iobench_git_sha", "iobench_topology_source",
          "iobench_quiet_reason", "iobench_cpu_model"):
    h["context"][k] = " | ".join(payloads)
h["context"]["iobench_quiet"] = False
save("hostile", h)
b = copy.deepcopy(good)
b["benchmarks"][3]["name"] = b["benchmarks"][3]["run_name"] = \
    "lock/contended/a'.system('touch CANARY_n').'/cs:0/ncs:100/manual_time/threads:2"
save("bad", b)
PY

# --- show -------------------------------------------------------------------------------------
check "show a lock run" 0 "$iobench" show "$tmp/run"
cat "$tmp/out"
expect_out "lock table header" \
	'^  impl/params +threads placement +median +vs ref +jain 10ms +consec +wait p99 +wait p99.9 +wait max +handover p50 +cpu s/Macq +ctxsw/kacq +n$'
expect_out "the columns are explained" "jain 10ms: min of Jain's index over 10 ms windows"
expect_out "pthread_mutex cs:0 2 threads" \
	'^  pthread_mutex/cs:0/ncs:100 +2 compact +3.75 M/s +1.00x +0.500 +89.0% +2 us +90 us +10.6 ms +900 ns +0.52 +0.8 +3$'
expect_out "iort_mutex cs:0 2 threads" \
	'^  iort_mutex/cs:0/ncs:100 +2 compact +3.2 M/s +0.85x +0.995 +55.0% +1.5 us +4 us +60 us +600 ns +0.6 +1.5 +3$'
expect_out "iort_mutex cs:0 4 threads: waits doubled" \
	'^  iort_mutex/cs:0/ncs:100 +4 compact +1.6 M/s +0.85x +0.995 +55.0% +3 us +8 us +120 us +1.2 us +0.6 +1.5 +3$'
expect_out "an older binary's counters missing: '-'" \
	'^  ck_mcs/cs:0/ncs:100 +2 compact +1.8 M/s +0.48x +- +0.0% +900 ns +2 us +30 us +- +- +- +3$'
expect_out "a collapse keeps two digits of its ratio" \
	'^  ck_mcs/cs:0/ncs:100 +4 compact +3 k/s +0.0016x +- +0.0% '
expect_out "jain_min_10ms absent from a shape: '-'" \
	'^  iort_mutex/cs:1000/ncs:100 +2 compact +800 k/s +0.85x +- +55.0% +1.5 us +4 us +60 us +600 ns +0.6 +1.5 +3$'
expect_out "a name with every separator" \
	'^  x-y.z,w/cs:0/ncs:100 +2 compact +1 M/s +0.27x +0.900 +30.0% +200 ns +300 ns +400 ns +50 ns +2 +3 +3$'
expect_out "lock/uncontended keeps the standard table" \
	'^  iort_mutex +1 compact +60 M/s +60 M/s - 60 M/s +- +1.20x +3$'
[ "$(grep -c 'jain 10ms' "$tmp/out")" -eq 2 ] || fail "one lock header (and its legend) for lock/contended only"
check "show --json a lock run" 0 "$iobench" show --json "$tmp/run"
pycheck "show --json: the lock counters by name, null when not measured" '
import json, sys
d = {r["name"]: r for r in json.load(open(sys.argv[1]))["benchmarks"]}
r = d["lock/contended/iort_mutex/cs:0/ncs:100/manual_time/threads:4"]
l = r["lock"]
assert abs(r["median"] - 1.6e6) < 1e-3 and abs(r["speedup_vs_reference"] - 3.2 / 3.75) < 1e-9, r
want = {"jain_min_10ms": 0.995, "consec": 0.55, "p999_ns": 8000, "max_ns": 120000,
        "handover_p50_ns": 1200, "handover_p99_ns": 2400, "cpu_s_per_macq": 0.6,
        "ctxsw_per_kacq": 1.5, "jain": 1.0}
for k, v in want.items():
    assert abs(l[k] - v) < 1e-9 * max(1, v), (k, l[k], v)
assert r["p99_ns"] == 3000, r
m = d["lock/contended/ck_mcs/cs:0/ncs:100/manual_time/threads:2"]["lock"]
assert m["jain_min_10ms"] is None and m["handover_p50_ns"] is None and m["consec"] == 0, m
assert d["lock/uncontended/iort_mutex"]["lock"] is None
' "$tmp/out"

# --- plot -------------------------------------------------------------------------------------
if ! command -v gnuplot >/dev/null; then
	echo "SKIP (plot part): gnuplot not installed (apt install gnuplot-nox)"
	finish
fi
run=$tmp/run
check "plot a lock run" 0 "$iobench" plot "$run"
for g in cs-0_ncs-100 cs-1000_ncs-100; do
	for f in "fairness_lock_contended_$g" "wait_lock_contended_${g}_threads-2" \
		"wait_lock_contended_${g}_threads-4" "throughput_lock_contended_$g"; do
		for ext in png svg; do
			[ -s "$run/plots/$f.$ext" ] || fail "$f.$ext exists and is not empty"
		done
		[ "$(head -c 8 "$run/plots/$f.png" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ] ||
			fail "$f.png starts with the PNG signature"
	done
	compgen -G "$run/plots/latency_lock_contended_$g*" >/dev/null &&
		fail "$g: the lock's latency figure is its wait figure, not a second one"
done
compgen -G "$run/plots/fairness_lock_uncontended*" >/dev/null &&
	fail "no fairness figure without fairness counters"
d=$run/plots/data
grep -q "fairness.gp'" "$d/fairness_lock_contended_cs-0_ncs-100.gp" || fail "fairness driver loads fairness.gp"
grep -qx 'have_jain = 1' "$d/fairness_lock_contended_cs-0_ncs-100.gp" || fail "cs:0 has Jain"
grep -qx 'have_jain = 0' "$d/fairness_lock_contended_cs-1000_ncs-100.gp" || fail "cs:1000: Jain panel empty"
grep -qx 'have_consec = 1' "$d/fairness_lock_contended_cs-1000_ncs-100.gp" || fail "cs:1000 has consec"
grep -qx 'logy = 1' "$d/fairness_lock_contended_cs-0_ncs-100.gp" || fail "a 300x collapse: log throughput axis"
grep -qx "xtics_list = '2 4'" "$d/fairness_lock_contended_cs-0_ncs-100.gp" || fail "clusters at 2 and 4 threads"
grep -qx "impls = 'iort_mutex ck_mcs pthread_mutex x-y.z,w'" "$d/fairness_lock_contended_cs-0_ncs-100.gp" ||
	fail "fairness series: every implementation, ours first"
pycheck "fairness data: medians of throughput, Jain, consec per implementation and threads" '
import sys
blocks = {}
for line in open(sys.argv[1]):
    if line.startswith("# impl "):
        cur = blocks.setdefault(line.split()[2], {})
    elif line.strip() and not line.startswith("#"):
        w = line.split()
        cur[int(w[1])] = w
i, c = blocks["iort_mutex"], blocks["ck_mcs"]
assert i[2][0] == "0" and i[4][0] == "1", i
assert [float(x) for x in i[2][2:5]] == [3.2, 2.88, 3.52], i[2]
assert [round(float(x), 6) for x in i[4][5:11]] == [0.995, 0.99102, 0.99699, 55.0, 54.78, 55.11], i[4]
for b in blocks.values():
    for w in b.values():
        for k in (2, 5, 8):
            if w[k] != "-":
                lo, med, hi = float(w[k + 1]), float(w[k]), float(w[k + 2])
                assert lo <= med <= hi, w
assert c[2][5:8] == ["-"] * 3 and [float(x) for x in c[2][8:11]] == [0.0] * 3, c[2]
assert list(blocks) == ["iort_mutex", "ck_mcs", "pthread_mutex", "x-y.z,w"], list(blocks)
' "$d/fairness_lock_contended_cs-0_ncs-100.dat"
w=$d/wait_lock_contended_cs-0_ncs-100_threads-4
grep -q "wait_counters.gp'" "$w.gp" || fail "wait figure from the counters loads wait_counters.gp"
grep -qx 'handover = 1' "$w.gp" || fail "the wait figure shows the handover"
grep -q "^ylabel = 'wait, call to ownership'" "$w.gp" || fail "the wait figure says what the wait is"
pycheck "wait data: p50 p99 p99.9 max, then handover p50 p99 after one blank line" '
import sys
text = open(sys.argv[1]).read()
blk = text.split("# impl iort_mutex\n")[1].split("\n\n\n")[0]
assert blk == "1 600 540 660\n2 3000 2700 3300\n3 8000 7200 8800\n4 120000 108000 132000\n\n6 1200 1080 1320\n7 2400 2160 2640", repr(blk)
mcs = text.split("# impl ck_mcs\n")[1].split("\n\n\n")[0]
assert mcs.splitlines()[-1].startswith("4 60000 "), repr(mcs)
' "$w.dat"
pycheck "SVGs parse and name every implementation, the footer and the panels" '
import sys, xml.etree.ElementTree as ET
NS = "{http://www.w3.org/2000/svg}"
for path, need in ((sys.argv[1], ["throughput", "min over 10 ms windows", "not measured in this run", "consec"]),
                   (sys.argv[2], ["wait: call to ownership", "handover: release to next owner", "p99.9"])):
    t = " ".join("".join(x.itertext()) for x in ET.parse(path).getroot().iter(NS + "text"))
    for n in need + ["iort_mutex", "ck_mcs", "pthread_mutex", "x-y.z,w", "0123456789ab", "lock-host"]:
        assert n in t, (path, n)
' "$run/plots/fairness_lock_contended_cs-1000_ncs-100.svg" "$run/plots/wait_lock_contended_cs-0_ncs-100_threads-4.svg"

# The wait histogram as a latency CSV: the full percentile spectrum, through the latency path.
mkdir -p "$run/latency"
/usr/bin/python3 - "$run/latency/lock_contended_iort_mutex_cs-0_ncs-100_manual_time_threads-2.csv" <<'PY'
import sys
with open(sys.argv[1], "w") as f:
    f.write('"Value","Percentile","TotalCount","1/(1-Percentile)"\n')
    p, n = 0.0, 0
    while p < 0.99999:
        n += 1
        f.write(f"{300 * (1 / (1 - p)) ** 0.5:.3f},{p:.12f},{n},{1 / (1 - p):.2f}\n")
        p = p + (1 - p) / 4
PY
check "plot a lock run with a wait CSV" 0 "$iobench" plot "$run"
w=$d/wait_lock_contended_cs-0_ncs-100_threads-2
grep -q "/latency.gp'" "$w.gp" || fail "a wait CSV: the spectrum template"
grep -q "^ylabel = 'wait, call to ownership'" "$w.gp" || fail "the spectrum says it is the wait"
grep -q 'percentile spectrum' "$w.dat" || fail "the spectrum's data comes from the CSV"
grep -q "wait_counters.gp'" "$d/wait_lock_contended_cs-0_ncs-100_threads-4.gp" ||
	fail "4 threads (no CSV) keep the counters"

# --- hostile input ----------------------------------------------------------------------------
check "plot a lock run with hostile context text" 0 "$iobench" plot "$tmp/hostile"
[ -s "$tmp/hostile/plots/fairness_lock_contended_cs-0_ncs-100.svg" ] || fail "hostile: fairness drawn"
[ -s "$tmp/hostile/plots/wait_lock_contended_cs-0_ncs-100_threads-2.svg" ] || fail "hostile: wait drawn"
grep -qF 'touch CANARY_q1' "$tmp/hostile/plots/fairness_lock_contended_cs-0_ncs-100.svg" ||
	fail "hostile: the payload is printed as text in the footer"
check "show a lock run with hostile context text" 0 "$iobench" show "$tmp/hostile"
expect_out "hostile: the lock table still there" '^  iort_mutex/cs:0/ncs:100 +2 compact +3.2 M/s'
expect_err "show: a lock name carrying code is refused" \
	"benchmarks[3].name" "$iobench" show "$tmp/bad"
grep -qF "character '\\'' (0x27) at offset 16" "$tmp/err" ||
	fail "show bad: names the character: $(cat "$tmp/err")"
expect_err "plot: a lock name carrying code is refused" "benchmarks[3].name" "$iobench" plot "$tmp/bad"
[ -e "$tmp/bad/plots" ] && fail "plot bad: wrote plots/"
found=$(find "$tmp" -name 'CANARY*')
[ -z "$found" ] || fail "a payload ran: $found"

finish
