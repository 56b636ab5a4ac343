#!/usr/bin/env bash
# iobench plot: from a synthetic results.json (+ one latency CSV) it renders PNG and SVG figures
# (throughput, ratio to the reference, latency spectrum and latency counters) with the footer
# (git sha), every implementation named, one colour per implementation across figures; without
# gnuplot a clear message and exit 1; a bad RUN exits 2 naming it.
set -uo pipefail
iobench=${IOBENCH:?set by meson}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

if ! command -v gnuplot >/dev/null; then
	echo "SKIP: gnuplot not installed (apt install gnuplot-nox)"
	exit 77
fi

# --- a synthetic run: queue/pairs over threads 1,2,4 (reference rte_mpmc) and with a param,
# queue/handoff with latency counters and one percentile CSV, a calib row (not plotted), an error
# row (ignored) and an implementation no other run has named.
run=$tmp/run
mkdir -p "$run/latency"
/usr/bin/python3 - "$run" <<'PY'
import json, math, sys
run = sys.argv[1]
rows = []
def row(name, threads, rep, ips=None, rt=100.0, **counters):
    r = {"name": name, "run_name": name, "run_type": "iteration", "repetitions": 3,
         "repetition_index": rep, "threads": threads, "iterations": 1000, "real_time": rt,
         "cpu_time": rt, "time_unit": "ns"}
    if ips is not None:
        r["items_per_second"] = ips
    r.update(counters)
    rows.append(r)
base = {"iort_mpmc": 9e6, "rte_mpmc": 3e6, "urcu_lfq": 1e6, "zz_newq": 2e6}
for impl, v in base.items():
    for t in (1, 2, 4):
        for rep in range(3):
            f = (1 + 0.1 * rep) / (t if impl == "rte_mpmc" else 1)
            row(f"queue/pairs/{impl}/manual_time/threads:{t}", t, rep, v * f)
            row(f"queue/pairs/{impl}/pause:50-150/manual_time/threads:{t}", t, rep, v * f / 2)
for impl in ("iort_mpmc", "rte_spsc"):
    for rep in range(3):
        row(f"queue/handoff/{impl}/real_time/threads:2", 2, rep, 5e6, 200.0,
            p50_ns=400.0 + rep, p99_ns=900.0, p999_ns=5000.0, max_ns=40000.0)
for rep in range(3):
    row("calib/clock/clock_gettime/threads:1", 1, rep, None, 30.0)
    for t in (1, 2, 4):  # no items_per_second: time per iteration, spanning 3 decades (log y)
        row(f"sync/lock/mutex_ring/threads:{t}", t, rep, None, 10.0 ** t)
        row(f"sync/lock/iort_mutex/threads:{t}", t, rep, None, 20.0 * t)
rows.append({"name": "queue/pairs/urcu_lfq/threads:8@compact", "run_name": "x", "run_type": "iteration",
             "repetitions": 3, "repetition_index": 0, "threads": 8, "iterations": 0, "real_time": 0,
             "cpu_time": 0, "time_unit": "ns", "error_occurred": True,
             "error_message": "cell timed out after 60 s"})
ctx = {"date": "2026-01-01T00:00:00+00:00", "host_name": "plot-test-host", "num_cpus": 2,
       "iobench_git_sha": "0123456789ab", "iobench_topology_source": "synthetic:pack:1 core:2 pu:1",
       "iobench_simulated": True, "iobench_quiet": False,
       "iobench_quiet_reason": "load1 before 1.50 > 0.60",
       "iobench_references": {"queue/pairs": "rte_mpmc", "queue/handoff": "rte_spsc"}}
json.dump({"context": ctx, "benchmarks": rows}, open(f"{run}/results.json", "w"), indent=1)
# HdrHistogram percentile CSV for one handoff benchmark (values in ns).
with open(f"{run}/latency/queue_handoff_iort_mpmc_real_time_threads-2.csv", "w") as f:
    f.write('"Value","Percentile","TotalCount","1/(1-Percentile)"\n')
    p, n = 0.0, 0
    while p < 0.99999:
        n += 1
        v = 300 * (1 / (1 - p)) ** 0.6
        f.write(f"{v:.3f},{p:.12f},{n},{1 / (1 - p):.2f}\n")
        p = p + (1 - p) / 4
    f.write(f"{v:.3f},1.000000000000,{n},Infinity\n")
PY

check "iobench plot --help" 0 "$iobench" plot --help
grep -q "usage: iobench plot" "$tmp/out" || fail "plot --help prints usage"
check "iobench plot RUN" 0 "$iobench" plot "$run"
cat "$tmp/out"

want="throughput_queue_pairs throughput_queue_pairs_pause-50-150 ratio_queue_pairs
ratio_queue_pairs_pause-50-150 throughput_queue_handoff latency_queue_handoff_threads-2
throughput_sync_lock"
for f in $want; do
	for ext in png svg; do
		[ -s "$run/plots/$f.$ext" ] || fail "$f.$ext exists and is not empty"
	done
	[ "$(head -c 8 "$run/plots/$f.png" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ] ||
		fail "$f.png starts with the PNG signature"
done
compgen -G "$run/plots/*calib*" >/dev/null && fail "calib rows are not plotted"
ls "$run/plots"/.*.tmp.* >/dev/null 2>&1 && fail "no temporary outputs left behind"
[ -s "$run/plots/data/throughput_queue_pairs.dat" ] || fail "data file written"
grep -q '^# columns: threads median min max' "$run/plots/data/throughput_queue_pairs.dat" ||
	fail "data file has a header comment"
grep -q 'real_time in ns' "$run/plots/data/throughput_sync_lock.dat" ||
	fail "rows without items_per_second plot real_time"
grep -q 'logy = 1' "$run/plots/data/throughput_sync_lock.gp" || fail "3 decades: log y axis"
grep -q 'logy = 0' "$run/plots/data/throughput_queue_pairs.gp" || fail "1 decade: linear y axis"
[ -e "$run/plots/ratio_sync_lock.png" ] && fail "no ratio figure without a reference"

# SVGs: valid XML, the footer (sha, host, topology, quiet), every implementation named, and the
# same stroke colour for an implementation in different figures.
/usr/bin/python3 - "$run/plots" <<'PY' || fails=$((fails + 1))
import glob, os, sys, xml.etree.ElementTree as ET
d = sys.argv[1]
NS = "{http://www.w3.org/2000/svg}"
def texts(root):
    return ["".join(t.itertext()) for t in root.iter(NS + "text")]
def colours(root):
    """implementation name -> stroke colour of its legend line (gnuplot's plot groups)."""
    out = {}
    for g in root.iter(NS + "g"):
        if not g.get("id", "").startswith("gnuplot_plot_"):
            continue
        name = next((t for t in texts(g) if t.strip()), None)
        stroke = next((p.get("stroke") for p in g.iter(NS + "path") if p.get("stroke")), None)
        if name and stroke:
            out[name.strip()] = stroke.replace(" ", "")
    return out
figs = {os.path.basename(p)[:-4]: ET.parse(p).getroot() for p in glob.glob(f"{d}/*.svg")}
assert len(figs) >= 6, sorted(figs)
print(f"ok: {len(figs)} SVG files parse as XML")
impls = {"throughput_queue_pairs": ["iort_mpmc", "rte_mpmc", "urcu_lfq", "zz_newq"],
         "ratio_queue_pairs": ["iort_mpmc", "rte_mpmc", "urcu_lfq", "zz_newq"],
         "throughput_queue_pairs_pause-50-150": ["iort_mpmc", "rte_mpmc", "urcu_lfq", "zz_newq"],
         "latency_queue_handoff_threads-2": ["iort_mpmc"],
         "throughput_queue_handoff": ["iort_mpmc", "rte_spsc"]}
for fig, root in figs.items():
    t = " ".join(texts(root))
    for need in ("0123456789ab", "plot-test-host", "synthetic:pack", "SIMULATED", "NOT quiet"):
        assert need in t, f"{fig}: footer lacks {need!r}"
    for impl in impls.get(fig, []):
        assert impl in t, f"{fig}: {impl} not named"
print("ok: every SVG names the sha, host, topology, quiet state and its implementations")
a, b = colours(figs["throughput_queue_pairs"]), colours(figs["ratio_queue_pairs"])
c = colours(figs["throughput_queue_pairs_pause-50-150"])
for impl in ("iort_mpmc", "urcu_lfq", "zz_newq"):
    assert impl in a and impl in b and impl in c, (impl, a, b, c)
    assert a[impl] == b[impl] == c[impl], f"{impl}: colours differ {a[impl]} {b[impl]} {c[impl]}"
assert len(set(a.values())) == len(a), f"implementations share a colour: {a}"
print(f"ok: one colour per implementation across figures: {a}")
PY

# The latency figure from the CSV is a spectrum; without a CSV the counters figure is drawn.
grep -q 'latency.gp' "$run/plots/data/latency_queue_handoff_threads-2.gp" ||
	fail "handoff with a CSV plots the percentile spectrum"
rm "$run/latency/queue_handoff_iort_mpmc_real_time_threads-2.csv"
check "iobench plot results.json (counters fallback, re-plot)" 0 "$iobench" plot "$run/results.json"
grep -q 'latency_counters.gp' "$run/plots/data/latency_queue_handoff_threads-2.gp" ||
	fail "handoff without a CSV plots the p50/p99/p999/max counters"
/usr/bin/python3 -c "import sys, xml.etree.ElementTree as E; E.parse(sys.argv[1])" \
	"$run/plots/latency_queue_handoff_threads-2.svg" || fail "counters SVG parses"
grep -q 'rte_spsc' "$run/plots/latency_queue_handoff_threads-2.svg" ||
	fail "counters figure names rte_spsc"

# No gnuplot: a clear message, exit 1, results untouched.
sum=$(md5sum <"$run/results.json")
expect_status_err "IOBENCH_GNUPLOT=/nonexistent" 1 "gnuplot not found" \
	env IOBENCH_GNUPLOT=/nonexistent "$iobench" plot "$run"
grep -qF "install gnuplot-nox" "$tmp/err" || fail "message says how to install gnuplot"
mkdir "$tmp/bin"
for t in /usr/bin/* /bin/*; do
	n=${t##*/}
	[ "$n" = gnuplot ] || [ -e "$tmp/bin/$n" ] || ln -s "$t" "$tmp/bin/$n"
done
expect_status_err "PATH without gnuplot" 1 "gnuplot not found" env PATH="$tmp/bin" "$iobench" plot "$run"
[ "$sum" = "$(md5sum <"$run/results.json")" ] || fail "results.json unchanged"

# gnuplot failing: the figure is named and gnuplot's stderr shown; the old figure stays.
cp -r "${IOBENCH_SOURCE_ROOT:?set by meson}/plots" "$tmp/tpl"
echo 'this is not gnuplot' >>"$tmp/tpl/ratio.gp"
old=$(md5sum <"$run/plots/ratio_queue_pairs.png")
expect_status_err "a failing template" 1 "figure 'ratio_queue_pairs'" \
	env IOBENCH_PLOTS="$tmp/tpl" "$iobench" plot "$run"
grep -q 'line [0-9]*:' "$tmp/err" || fail "gnuplot's own message is shown"
[ "$old" = "$(md5sum <"$run/plots/ratio_queue_pairs.png")" ] || fail "the old figure is kept"
expect_status_err "IOBENCH_PLOTS without templates" 1 "IOBENCH_PLOTS" \
	env IOBENCH_PLOTS="$tmp/bin" "$iobench" plot "$run"

# Finding the templates (harness/lib/locate.c). From its build tree, iobench finds the source
# tree it was configured from, wherever the build folder is (a build outside the source tree
# once missed them): no variable needed.
check "templates from the build tree, no IOBENCH_SOURCE_ROOT" 0 \
	env -u IOBENCH_SOURCE_ROOT -u IOBENCH_PLOTS "$iobench" plot "$run"
# IOBENCH_SOURCE_ROOT is the one override of the source tree, and plot honours it: a tree whose
# ratio template fails makes that figure fail.
mkdir -p "$tmp/src"
cp -r "$tmp/tpl" "$tmp/src/plots"
expect_status_err "IOBENCH_SOURCE_ROOT's plots/ are the templates" 1 "figure 'ratio_queue_pairs'" \
	env IOBENCH_SOURCE_ROOT="$tmp/src" "$iobench" plot "$run"
# A copy of iobench outside any tree (as an install elsewhere, or a build outside the sources)
# finds the templates through IOBENCH_SOURCE_ROOT alone; IOBENCH_PLOTS still wins over it.
mkdir -p "$tmp/elsewhere/a/b"
cp "$iobench" "$tmp/elsewhere/a/b/iobench"
check "iobench outside any tree, IOBENCH_SOURCE_ROOT" 0 \
	env -u IOBENCH_PLOTS IOBENCH_SOURCE_ROOT="$IOBENCH_SOURCE_ROOT" "$tmp/elsewhere/a/b/iobench" plot "$run"
expect_status_err "IOBENCH_PLOTS wins over IOBENCH_SOURCE_ROOT" 1 "figure 'ratio_queue_pairs'" \
	env IOBENCH_PLOTS="$tmp/tpl" IOBENCH_SOURCE_ROOT="$IOBENCH_SOURCE_ROOT" "$tmp/elsewhere/a/b/iobench" plot "$run"
if [ ! -e /usr/local/share/iobench/plots/throughput.gp ]; then
	expect_status_err "outside any tree, no variable: says what to set" 1 "IOBENCH_SOURCE_ROOT" \
		env -u IOBENCH_SOURCE_ROOT -u IOBENCH_PLOTS "$tmp/elsewhere/a/b/iobench" plot "$run"
fi

# Bad RUN: exit 2 naming it.
expect_status_err "missing run" 2 "$tmp/nope" "$iobench" plot "$tmp/nope"
mkdir "$tmp/empty"
expect_status_err "folder without results.json" 2 "$tmp/empty" "$iobench" plot "$tmp/empty"
echo '{"nope": 1' >"$tmp/bad.json"
expect_status_err "not JSON" 2 "$tmp/bad.json" "$iobench" plot "$tmp/bad.json"
expect_status_err "no run given" 2 "which run" "$iobench" plot
expect_status_err "unknown option" 2 "unknown option '--bogus'" "$iobench" plot --bogus "$run"

if [ "$fails" -ne 0 ]; then
	echo "$fails check(s) failed"
	exit 1
fi
echo "all plot checks passed"
