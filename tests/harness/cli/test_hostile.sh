#!/usr/bin/env bash
# Results files are untrusted input (a shard rsynced from another host, a file attached to a bug
# report). Files whose names, references, context values and parameters carry gnuplot and shell
# code go through plot, merge then plot, show, compare and run --resume:
#  - no canary file ever appears (every payload would touch one, by a relative or absolute path);
#  - a file whose names, implementations, parameters, placements or references break the name
#    grammar exits 2 with one line naming the row or key and the character, and nothing written
#    before is touched;
#  - free text (host, sha, topology, reasons, messages) is plotted as text and shown escaped:
#    no raw control character reaches the terminal.
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

# iobench runs from here, so relative payloads would land here; absolute ones name $tmp.
mkdir -p "$tmp/cwd"
cd "$tmp/cwd" || exit 1

no_canary() { # no_canary "after what": no file named CANARY* anywhere under $tmp
	local found
	found=$(find "$tmp" -name 'CANARY*' 2>/dev/null)
	if [ -n "$found" ]; then
		fail "$1: a payload ran: $found"
		find "$tmp" -name 'CANARY*' -delete # so the next check sees only its own
	else
		echo "ok: $1: no canary file"
	fi
}

raw_controls() { # raw_controls FILE: true when FILE holds a raw control character (C0 but \t \n, DEL, C1)
	LC_ALL=C grep -qP '[\x00-\x08\x0b-\x1f\x7f]|\xc2[\x80-\x9f]' "$1"
}

# --- the files ------------------------------------------------------------------------------------
# good/: valid names, hostile free text everywhere the context has some; shard-0/ and shard-1/:
# good/ split in two shards of one matrix; bad-*/: good/ with one name, reference, parameter,
# placement, matrix entry or cell id carrying code.
/usr/bin/python3 - "$tmp" <<'PY'
import copy, json, os, sys
tmp = sys.argv[1]
payloads = [
    "x'.system('touch CANARY_q1').'",
    "'''.system('touch CANARY_q2').'''",
    "`touch CANARY_bt`",
    "\"; system(\"touch CANARY_dq\"); \"",
    "\"`touch %s/CANARY_abs`\"" % tmp,
    "a\nsystem('touch CANARY_nl')\n",
    "@fig_footer @impls",
    "%s%n%x%%",
    "end\\",
    "\x1b]0;pwned\x07\x1b[2J",
    "c1\u009b2J",
]
hostile = " | ".join(payloads)
rows = []
def row(name, t, rep, ips=None, rt=100.0, **kw):
    r = {"name": name, "run_name": name, "run_type": "iteration", "repetitions": 2,
         "repetition_index": rep, "threads": t, "iterations": 100, "real_time": rt,
         "cpu_time": rt, "time_unit": "ns", "iobench_placement": "compact"}
    if ips is not None:
        r["items_per_second"] = ips
    r.update(kw)
    rows.append(r)
cells = []
for impl, v in (("iort_mpmc", 9e6), ("rte_mpmc", 3e6)):
    for t in (1, 2):
        cid = f"queue/pairs/{impl}/pause:50-150/threads:{t}@compact"
        cells.append({"id": cid, "status": "done", "seconds": 1.0, "message": hostile})
        for rep in range(2):
            row(f"queue/pairs/{impl}/pause:50-150/manual_time/threads:{t}", t, rep,
                v * (1 + rep / 10), iobench_cell=cid)
for impl in ("iort_mpmc", "rte_spsc"):
    cid = f"queue/handoff/{impl}/threads:2@compact"
    cells.append({"id": cid, "status": "done", "seconds": 1.0})
    for rep in range(2):
        row(f"queue/handoff/{impl}/real_time/threads:2", 2, rep, 5e6, 200.0, iobench_cell=cid,
            p50_ns=400.0, p99_ns=900.0, p999_ns=5000.0, max_ns=40000.0)
cid = "queue/handoff/ck_fifo/threads:2@compact"
cells.append({"id": cid, "status": "error", "seconds": 1.0, "message": hostile})
rows.append({"name": cid, "run_name": cid, "run_type": "iteration", "repetitions": 2,
             "threads": 2, "iterations": 0, "real_time": 0, "cpu_time": 0, "time_unit": "ns",
             "error_occurred": True, "error_message": hostile, "iobench_cell": cid,
             "iobench_placement": "compact"})
matrix = {"name": "hostile", "defaults": {"repetitions": 2, "min_time": 0.1, "warmup": 0.05,
                                          "timeout": 60, "placements": ["compact"],
                                          "threads": [1]},
          "suites": [{"family": "queue/pairs", "impls": ["iort_mpmc", "rte_mpmc"],
                      "threads": [1, 2], "params": {"pause": ["50-150"]},
                      "reference": "rte_mpmc"},
                     {"family": "queue/handoff", "impls": ["iort_mpmc", "rte_spsc", "ck_fifo"],
                      "threads": [2], "reference": "rte_spsc"}]}
ctx = {"date": hostile, "host_name": hostile, "num_cpus": 2, "iobench_git_sha": hostile,
       "iobench_cpu_model": hostile, "iobench_topology_source": hostile,
       "iobench_simulated": True, "iobench_quiet": False, "iobench_quiet_reason": hostile,
       "iobench_incomplete": hostile, "iobench_run_id": hostile,
       "iobench_references": {"queue/pairs": "rte_mpmc", "queue/handoff": "rte_spsc"},
       "iobench_matrix": matrix, "iobench_cells": cells}
good = {"context": ctx, "benchmarks": rows}
def save(name, doc):
    os.makedirs(f"{tmp}/{name}", exist_ok=True)
    json.dump(doc, open(f"{tmp}/{name}/results.json", "w"), indent=1)
save("good", good)
# two shards: cells split, rows follow their cell
for k in range(2):
    s = copy.deepcopy(good)
    mine = [c["id"] for i, c in enumerate(cells) if i % 2 == k]
    s["context"]["iobench_cells"] = [c for c in cells if c["id"] in mine]
    s["context"]["iobench_shard"] = f"{k}/2"
    s["benchmarks"] = [r for r in rows if r["iobench_cell"] in mine]
    save(f"shard-{k}", s)
# one breach per file
def bad(name, change):
    d = copy.deepcopy(good)
    change(d)
    save(f"bad-{name}", d)
bad("name", lambda d: d["benchmarks"][1].update(
    name="queue/pairs/x'.system('touch CANARY_n').'/manual_time/threads:1"))
bad("reference", lambda d: d["context"]["iobench_references"].update(
    {"queue/pairs": "rte_mpmc'.system('touch CANARY_r').'"}))
bad("refkey", lambda d: d["context"]["iobench_references"].update(
    {"queue/p`touch CANARY_k`": "rte_mpmc"}))
bad("param", lambda d: d["benchmarks"][2].update(
    name="queue/pairs/iort_mpmc/pause:`touch CANARY_p`/manual_time/threads:2"))
bad("impl", lambda d: d["benchmarks"][3].update(
    name="queue/pairs/iort\nset output '/tmp/x'/manual_time/threads:2"))
bad("placement", lambda d: d["benchmarks"][0].update(iobench_placement="compact;touch CANARY_pl"))
bad("matrix", lambda d: d["context"]["iobench_matrix"]["suites"][0]["impls"].append(
    "iort_spsc$(touch CANARY_m)"))
# the original exploit: an implementation and the family reference naming it carry gnuplot code,
# so the ratio figure is drawn with the reference in its driver script
def exploit(d):
    evil = "a'.system('touch CANARY_x').'"
    for r in d["benchmarks"]:
        r["name"] = r["name"].replace("/rte_mpmc/", "/" + evil + "/")
        r["run_name"] = r["name"]
    d["context"]["iobench_references"]["queue/pairs"] = evil
    for k in ("date", "host_name", "iobench_git_sha", "iobench_topology_source",
              "iobench_quiet_reason"):  # plain, so nothing else stops gnuplot first
        d["context"][k] = "plain"
bad("exploit", exploit)
bad("cell", lambda d: d["context"]["iobench_cells"][0].update(
    id="queue/pairs/iort_mpmc/threads:1@compact'.system('touch CANARY_c').'"))
PY

# What each bad file must be refused with: the row or key, then the character.
declare -A where what
where[name]='benchmarks[1].name'
what[name]="character '\\'' (0x27) at offset 13"
where[reference]='context.iobench_references["queue/pairs"]'
what[reference]="character '\\'' (0x27) at offset 8"
where[refkey]='context.iobench_references key'
what[refkey]="character '\`' (0x60) at offset 7"
where[param]='benchmarks[2].name'
what[param]="character '\`' (0x60) at offset 28"
where[impl]='benchmarks[3].name'
what[impl]="character '\\n' (0x0a) at offset 16"
where[placement]='benchmarks[0].iobench_placement'
what[placement]="character ';' (0x3b) at offset 7"
where[matrix]='context.iobench_matrix.suites[0].impls[2]'
what[matrix]="character '\$' (0x24) at offset 9"
where[exploit]='benchmarks[4].name'
what[exploit]="character '\\'' (0x27) at offset 13"
where[cell]='context.iobench_cells[0].id'
what[cell]="character '\\'' (0x27) at offset 39"

refused() { # refused KIND "what" cmd...: exit 2, one stderr line naming the row and the character
	local kind=$1 label=$2
	shift 2
	expect_err "$label" "${where[$kind]}" "$@" || return
	grep -qF -- "${what[$kind]}" "$tmp/err" || fail "$label: stderr lacks '${what[$kind]}': $(cat "$tmp/err")"
	[ "$(wc -l <"$tmp/err")" -eq 1 ] || fail "$label: more than one line on stderr"
	raw_controls "$tmp/err" && fail "$label: raw control character in the message"
}

for kind in name reference refkey param impl placement matrix exploit cell; do
	f=$tmp/bad-$kind
	cp "$f/results.json" "$tmp/before.json"
	refused "$kind" "plot bad-$kind" "$iobench" plot "$f"
	[ -e "$f/plots" ] && fail "plot bad-$kind: wrote $f/plots"
	refused "$kind" "show bad-$kind" "$iobench" show "$f"
	refused "$kind" "show --json bad-$kind" "$iobench" show --json "$f"
	refused "$kind" "compare bad-$kind good" "$iobench" compare "$f" "$tmp/good"
	refused "$kind" "compare good bad-$kind" "$iobench" compare "$tmp/good" "$f"
	refused "$kind" "merge bad-$kind" "$iobench" merge --out "$tmp/m-$kind" "$tmp/good" "$f"
	[ -e "$tmp/m-$kind/results.json" ] && fail "merge bad-$kind wrote a result"
	refused "$kind" "run --resume bad-$kind" "$iobench" run --resume "$f"
	cmp -s "$f/results.json" "$tmp/before.json" || fail "bad-$kind: results.json was changed"
done
no_canary "bad files through plot, show, compare, merge, run --resume"

# --- valid names, hostile free text -----------------------------------------------------------------
check "plot good (hostile context)" 0 "$iobench" plot "$tmp/good"
for fig in throughput_queue_pairs_pause-50-150 ratio_queue_pairs_pause-50-150 \
	latency_queue_handoff_threads-2; do
	[ -s "$tmp/good/plots/$fig.svg" ] || fail "plot good: $fig.svg rendered"
done
no_canary "plot good"
pycheck "SVGs parse, and the footer shows the payloads as text (escaped controls)" '
import glob, sys, xml.etree.ElementTree as ET
svgs = glob.glob(sys.argv[1] + "/*.svg")
assert len(svgs) >= 3, svgs
for p in svgs:
    text = "".join(ET.parse(p).getroot().itertext())
    for s in ("touch CANARY_q1", "`touch CANARY_bt`", "\\nsystem(", "@fig_footer @impls", "%s%n%x%%",
              "\\x1b]0;pwned\\x07", "c1\\u009b2J"):
        assert s in text, (p, s)
' "$tmp/good/plots"
grep -q "sprintf('%c',39)" "$tmp/good/plots/data/throughput_queue_pairs_pause-50-150.gp" ||
	fail "driver scripts write quotes as sprintf('%c',39)"

check "show good" 0 "$iobench" show "$tmp/good"
raw_controls "$tmp/out" && fail "show good: a raw control character reached the terminal"
expect_out "show good: escaped controls" '\\x1b\]0;pwned\\x07\\x1b\[2J'
expect_out "show good: escaped newline and C1" 'a\\nsystem.*c1\\u009b2J'
check "show --json good" 0 "$iobench" show --json "$tmp/good"
raw_controls "$tmp/out" && fail "show --json good: a raw control character"
check "compare good good" 0 "$iobench" compare "$tmp/good" "$tmp/good"
raw_controls "$tmp/out" && fail "compare: a raw control character"
no_canary "show, compare"

# --- merge, then plot --------------------------------------------------------------------------------
check "merge the hostile shards" 0 "$iobench" merge --out "$tmp/merged" "$tmp/shard-0" "$tmp/shard-1"
check "plot the merged run" 0 "$iobench" plot "$tmp/merged"
[ -s "$tmp/merged/plots/ratio_queue_pairs_pause-50-150.svg" ] || fail "merged: ratio figure"
check "show the merged run" 0 "$iobench" show "$tmp/merged"
raw_controls "$tmp/out" && fail "show merged: a raw control character"
/usr/bin/python3 - "$tmp/shard-1/results.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
d["context"]["iobench_git_sha"] = "other\x1b[2J'.system('touch CANARY_sha').'"
json.dump(d, open(sys.argv[1], "w"))
PY
check "merge --force shards of different (hostile) shas" 0 \
	"$iobench" merge --force --out "$tmp/merged2" "$tmp/shard-0" "$tmp/shard-1"
raw_controls "$tmp/err" && fail "merge --force: a raw control character in the warning"
grep -qF 'other\x1b[2J' "$tmp/err" || fail "merge --force: the sha is shown escaped: $(cat "$tmp/err")"
check "plot the second merged run" 0 "$iobench" plot "$tmp/merged2"
no_canary "merge then plot"

# --- run --resume: a real run, its cell made pending and its context made hostile ----------------
cat >"$tmp/m.json" <<'EOF'
{"name": "tiny", "defaults": {"repetitions": 1, "min_time": 0.01, "warmup": 0, "timeout": 60},
 "suites": [{"family": "harness/hist_record", "impls": ["iob_hist"], "reference": "iob_hist"}]}
EOF
rr=$tmp/resume
check "a tiny run" 0 "$iobench" run --matrix "$tmp/m.json" --out "$rr" --no-calibration --no-plots --seed 1
/usr/bin/python3 - "$rr/results.json" "$tmp/cwd" <<'PY'
import json, sys
p, cwd = sys.argv[1], sys.argv[2]
d = json.load(open(p))
h = "h'.system('touch CANARY_res').' `touch %s/CANARY_res2` \n\x1b[2J @fig_title %%s" % cwd
for k in ("host_name", "iobench_git_sha", "iobench_topology_source", "date", "iobench_quiet_reason"):
    d["context"][k] = h
for c in d["context"]["iobench_cells"]:
    c["status"] = "pending"
    c["repetitions_done"] = 0
d["benchmarks"] = [b for b in d["benchmarks"] if not b.get("iobench_cell")]
json.dump(d, open(p, "w"), indent=1)
PY
check "run --resume (hostile context) runs the cell and plots" 0 "$iobench" run --resume "$rr"
[ -s "$rr/plots/throughput_harness_hist_record.svg" ] || fail "run --resume: the plot step ran"
no_canary "run --resume with a hostile context"
/usr/bin/python3 - "$rr/results.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
evil = "iob_hist'.system('touch CANARY_rr').'"
d["context"]["iobench_references"]["harness/hist_record"] = evil
for c in d["context"]["iobench_cells"]:
    c["status"] = "pending"
    c["repetitions_done"] = 0
d["benchmarks"] = [b for b in d["benchmarks"] if not b.get("iobench_cell")]
# rows of the "reference" (real_time, as iob_hist's), kept from the file, so the resumed run's
# plot step draws a ratio figure
for rep in range(2):
    d["benchmarks"].append({"name": f"harness/hist_record/{evil}/threads:1", "run_type": "iteration",
                            "threads": 1, "iterations": 10, "real_time": 10.0, "cpu_time": 10.0,
                            "time_unit": "ns"})
json.dump(d, open(sys.argv[1], "w"), indent=1)
PY
cp "$rr/results.json" "$tmp/before.json"
expect_err "run --resume of a hostile reference" "benchmarks[" "$iobench" run --resume "$rr"
grep -qF "].name \"harness/hist_record/iob_hist'.system(" "$tmp/err" || fail "resume: the row is named"
grep -qF "character '\\'' (0x27) at offset 28" "$tmp/err" || fail "resume: the character is named"
cmp -s "$rr/results.json" "$tmp/before.json" || fail "resume refused: results.json untouched"
no_canary "run --resume with a hostile reference"

# --- a matrix cannot bring such names in: run would record what every loader refuses -------------
printf '%s\n' '{"suites": [{"family": "queue/pairs", "impls": ["iort_mpmc", "x'"'"'.system('"'"'touch CANARY_mx'"'"').'"'"'"],' \
	'  "reference": "iort_mpmc"}]}' >"$tmp/evil-matrix.json"
expect_err "list --matrix with code in an implementation" \
	"key 'impls' in suites[0]: element 1 must be a name without '/' or '@'; character '\\'' (0x27) at offset 1" \
	"$iobench" list --matrix "$tmp/evil-matrix.json"
expect_err "run --matrix with code in an implementation" "character '\\'' (0x27) at offset 1" \
	"$iobench" run --matrix "$tmp/evil-matrix.json" --out "$tmp/evil-run" --no-calibration
[ -e "$tmp/evil-run/results.json" ] && fail "run --matrix: refused before writing anything"
printf '%s\n' '{"suites": [{"family": "queue/pairs", "impls": ["iort_mpmc"],' \
	'  "params": {"pause": ["`touch CANARY_mp`"]}}]}' >"$tmp/evil-param.json"
expect_err "list --matrix with code in a parameter value" "character '\`' (0x60) at offset 0" \
	"$iobench" list --matrix "$tmp/evil-param.json"
no_canary "hostile matrices"

finish
