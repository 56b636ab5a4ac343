#!/usr/bin/env bash
# Adding a family is one workload file and one name in bench_families (docs/adding-a-benchmark.md).
# tests/bench/meson.build builds iobench-bench-toy with tests/bench/bench_toy.c added that way; this
# checks that everything iobench derives from the catalogue picks the new family up with no other
# edit: list --json, the default matrix, run, show (its reference) and plot (its figures).
set -u
toy=${1:?usage: test_toy_family.sh PATH-TO-iobench-bench-toy}
iobench=${IOBENCH:?set by meson}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
# shellcheck source=../harness/cli/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../harness/cli/lib.sh"
export IOBENCH_BENCH=$toy

check "list --json" 0 "$iobench" list --json
pycheck "the catalogue describes the toy family" '
import json, sys
c = json.load(open(sys.argv[1]))
fam = {f["name"]: f for f in c["families"]}
assert "toy" in fam and "queue" in fam, sorted(fam)
(s,) = fam["toy"]["scenarios"]
assert s["name"] == "toy/count" and s["kind"] == "throughput" and s["default"], s
assert s["reference"] == "toy_volatile" and s["params"] == {"step": [1, 2]}, s
assert [i["name"] for i in s["impls"]] == ["toy_plain", "toy_volatile"], s["impls"]
assert sorted(s["benchmarks"]) == sorted(f"toy/count/{i}/step:{k}/real_time/threads:1"
    for i in ("toy_plain", "toy_volatile") for k in (1, 2)), s["benchmarks"]
impls = {i["name"]: i for i in c["impls"]}
assert impls["toy_volatile"]["origin"] == "baseline" and impls["toy_volatile"]["package"] == "libc6"
' "$tmp/out"

check "the default matrix has the toy cells" 0 "$iobench" list --cells
n=$(grep -c '^toy/count/' "$tmp/out")
[ "$n" -eq 4 ] && echo "ok: 4 toy cells" || fail "expected 4 toy cells, got $n"
expect_out "a toy cell" '^toy/count/toy_plain/step:2/threads:1@compact$'
grep -q '^queue/pairs/' "$tmp/out" && echo "ok: the other families stay" || fail "queue cells gone"

check "run the toy family" 0 "$iobench" run --filter '^toy/' --repetitions 1 --min-time 0.01 \
	--no-calibration --out "$tmp/run"
check "show the run" 0 "$iobench" show "$tmp/run"
expect_out "show names the toy group and its reference" '^toy/count \(reference: toy_volatile\)$'
expect_out "show gives the reference 1.00x" '^ +toy_volatile/step:1 +1 compact .* 1\.00x +1$'
if command -v gnuplot >/dev/null; then
	check "plot the run" 0 "$iobench" plot "$tmp/run"
	ls "$tmp/run/plots"/throughput_toy_count*.svg >/dev/null 2>&1 &&
		echo "ok: a throughput figure of the toy family" || fail "no toy throughput figure"
	ls "$tmp/run/plots"/ratio_toy_count*.svg >/dev/null 2>&1 &&
		echo "ok: a ratio figure against its reference" || fail "no toy ratio figure"
else
	echo "SKIP: gnuplot not installed"
fi

# A binary that does not describe itself properly: one line naming it, exit 2, nothing run.
printf '#!/bin/sh\necho "{\\"iobench_catalogue\\": 1, \\"families\\": 3}"\n' >"$tmp/fake"
printf '#!/bin/sh\nexit 3\n' >"$tmp/fails"
chmod +x "$tmp/fake" "$tmp/fails"
expect_err "a catalogue of the wrong shape" "--iobench_catalogue: families: expected a list" \
	"$iobench" list --json --bench "$tmp/fake"
expect_err "a binary that fails" "--iobench_catalogue failed: exit status 3" \
	"$iobench" run --bench "$tmp/fails" --out "$tmp/never"
[ ! -e "$tmp/never" ] && echo "ok: no run folder" || fail "a run folder was made"

# A workload file's registration mistakes stop the binary at startup with one line naming them.
for bug in "twice:is registered twice" \
	"ragged:register every implementation with every combination" \
	"threads:two different lists of thread counts" \
	"name:'Toy-Bad' is not in [a-z0-9_]" \
	"package:baseline toy_nopkg does not name its package"; do
	IOBENCH_TOY_BUG=${bug%%:*} expect_status_err "registration bug ${bug%%:*}" 1 "${bug#*:}" \
		"$toy" --iobench_catalogue
done
finish
