#!/usr/bin/env bash
# iobench gate: prove the gate. Tier 1 passes an unchanged build and fails a +5 % instruction
# increase (gate/selftest/cost, whose cost IOBENCH_GATE_SELFTEST_COST sets), honours a
# per-benchmark threshold, keeps it across --update-baseline, reports new and vanished benchmarks,
# and rejects bad baselines with exit 2 naming file and key. Tier 2 on identical builds blocks
# nothing; tier 3 appends one trend line per run. Skipped (77) without valgrind or in a sanitized
# build (valgrind cannot run sanitized binaries).
set -uo pipefail
iobench=${IOBENCH:?set by meson}
bench=${IOBENCH_BENCH:?set by meson}
py=/usr/bin/python3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
edit_json() { # edit_json FILE PYTHON-STATEMENTS (d is the document)
	"$py" - "$1" "$2" <<'PY'
import json, sys
p, code = sys.argv[1], sys.argv[2]
d = json.load(open(p))
exec(code)
json.dump(d, open(p, "w"), indent=2)
PY
}

if ! command -v valgrind >/dev/null; then
	echo "SKIP: valgrind is not installed"
	exit 77
fi
if [ -n "${IOBENCH_BUILD_ROOT:-}" ] &&
	"$py" -c 'import json,sys; o={x["name"]: x["value"] for x in json.load(open(sys.argv[1]))}; sys.exit(o.get("b_sanitize","none") == "none")' \
		"$IOBENCH_BUILD_ROOT/meson-info/intro-buildoptions.json" 2>/dev/null; then
	echo "SKIP: sanitized build (valgrind cannot run it)"
	exit 77
fi
unset IOBENCH_GATE_SELFTEST_COST IOBENCH_VALGRIND

# --- usage ---
check "gate --help" 0 "$iobench" gate --help
grep -q "usage: iobench gate" "$tmp/out" || fail "gate --help prints usage"
expect_err "unknown gate option" "unknown option '--bogus'" "$iobench" gate --bogus
expect_err "bad --tier" "--tier" "$iobench" gate --tier 7
expect_err "bad --threshold" "--threshold" "$iobench" gate --threshold abc

# --- tier 1: a temporary baseline of the selftest at cost 100 (small N: valgrind is slow) ---
base=$tmp/gate.json
sel='^gate/selftest/'
check "tier 1 --update-baseline creates a baseline" 0 \
	"$iobench" gate --update-baseline --baseline "$base" --filter "$sel" --iterations 2000
last_line "update-baseline" "1 passed, 0 failed"
"$py" - "$base" <<'PY' || fail "baseline shape"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["version"] == 1 and d["iterations"] == 2000, d
e = d["benchmarks"]["gate/selftest/cost"]
assert e["instructions_per_iteration"] > 100, e
assert "build" in d and "note" in d, d
print("ok: baseline holds gate/selftest/cost at %.2f instr/iter" % e["instructions_per_iteration"])
PY

check "tier 1 passes the unchanged build" 0 "$iobench" gate --baseline "$base" --filter "$sel"
last_line "unchanged build" "1 passed, 0 failed"
grep -q '^ok  *gate/selftest/cost' "$tmp/out" || fail "unchanged build: no ok line for gate/selftest/cost"

export IOBENCH_GATE_SELFTEST_COST=105
check "tier 1 FAILS a +5 % instruction increase" 1 "$iobench" gate --baseline "$base" --filter "$sel"
last_line "+5 %" "0 passed, 1 failed"
grep -q '^FAIL  *gate/selftest/cost' "$tmp/out" || fail "+5 %: no FAIL line for gate/selftest/cost"
check "--threshold 10 lets +5 % pass" 0 "$iobench" gate --baseline "$base" --filter "$sel" --threshold 10

edit_json "$base" 'd["benchmarks"]["gate/selftest/cost"]["threshold_pct"] = 10'
check "per-benchmark threshold_pct 10 lets +5 % pass" 0 "$iobench" gate --baseline "$base" --filter "$sel"
last_line "override" "1 passed, 0 failed"
grep -q '(threshold 10 %, own)' "$tmp/out" || fail "override: the line does not show its own threshold"
unset IOBENCH_GATE_SELFTEST_COST

check "--update-baseline again" 0 \
	"$iobench" gate --update-baseline --baseline "$base" --filter "$sel" --iterations 2000
"$py" -c 'import json,sys; e=json.load(open(sys.argv[1]))["benchmarks"]["gate/selftest/cost"]; sys.exit(e.get("threshold_pct") != 10)' "$base" ||
	fail "--update-baseline dropped the per-benchmark threshold"
compgen -G "$tmp/.gate.json.*" >/dev/null && fail "--update-baseline left a temporary file"

cp "$base" "$tmp/gone.json"
edit_json "$tmp/gone.json" 'd["benchmarks"]["gate/selftest/gone"] = {"instructions_per_iteration": 10}'
check "a baseline entry no benchmark answers fails" 1 "$iobench" gate --baseline "$tmp/gone.json" --filter "$sel"
grep -q 'gate/selftest/gone.*not registered' "$tmp/out" || fail "vanished benchmark not named"
last_line "vanished" "1 passed, 1 failed"

cp "$base" "$tmp/new.json"
edit_json "$tmp/new.json" 'd["benchmarks"] = {}'
check "a benchmark missing from the baseline is new, not failed" 0 \
	"$iobench" gate --baseline "$tmp/new.json" --filter "$sel"
grep -q '^new  *gate/selftest/cost' "$tmp/out" || fail "new benchmark not reported as new"

# --- bad input: exit 2, naming the file (and the key) ---
printf '{"version": 1, "benchmarks": {' >"$tmp/broken.json"
expect_err "malformed baseline" "$tmp/broken.json" "$iobench" gate --baseline "$tmp/broken.json" --filter "$sel"
cp "$base" "$tmp/badkey.json"
edit_json "$tmp/badkey.json" 'd["benchmarks"]["gate/selftest/cost"]["instructions_per_iteration"] = "many"'
expect_err "bad value names its key" "benchmarks.gate/selftest/cost.instructions_per_iteration" \
	"$iobench" gate --baseline "$tmp/badkey.json" --filter "$sel"
grep -qF "$tmp/badkey.json" "$tmp/err" || fail "bad value: file not named"
cp "$base" "$tmp/badver.json"
edit_json "$tmp/badver.json" 'd["version"] = 2'
expect_err "wrong version" "'version'" "$iobench" gate --baseline "$tmp/badver.json"
expect_err "missing baseline" "$tmp/none.json" "$iobench" gate --baseline "$tmp/none.json"
expect_err "valgrind missing" "valgrind" env IOBENCH_VALGRIND="$tmp/no-valgrind" \
	"$iobench" gate --baseline "$base" --filter "$sel"
expect_err "bad filter" "not a valid regular expression" "$iobench" gate --baseline "$base" --filter '('
check "a benchmark that cannot run fails the gate" 1 env IOBENCH_GATE_SELFTEST_COST=abc \
	"$iobench" gate --baseline "$base" --filter "$sel"
grep -q "IOBENCH_GATE_SELFTEST_COST" "$tmp/err" || fail "the child's message is not shown"
"$py" -c 'import json,sys; json.load(open(sys.argv[1]))' "$base" || fail "baseline damaged by failed runs"

# --- tier 2: the same binary on both sides blocks nothing ---
check "tier 2, identical builds, 3 rounds: no blocking verdict" 0 \
	"$iobench" gate --tier 2 --baseline-bench "$bench" --candidate-bench "$bench" \
	--filter '^gate/push_pop/iort_spsc$' --rounds 3 --repetitions 2 --min-time 0.01
grep -q 'gate/push_pop/iort_spsc .*worse in [0-3]/3 rounds' "$tmp/out" || fail "tier 2: no line for the benchmark"
grep -q '^GROSS' "$tmp/out" && fail "tier 2: identical builds judged GROSS"
last_line "tier 2" "1 passed, 0 failed"
expect_err "tier 2 without a candidate" "--candidate-bench" "$iobench" gate --tier 2 --baseline-bench "$bench"
expect_err "tier 2 missing binary" "$tmp/nope" \
	"$iobench" gate --tier 2 --baseline-bench "$bench" --candidate-bench "$tmp/nope"

# --- tier 3: ratios to the family reference, appended, never blocking ---
mkdir -p "$tmp/run"
"$py" - "$tmp/run/results.json" <<'PY'
import json, sys
rows = []
for impl, ips in (("rte_mpmc", [10e6, 11e6, 12e6]), ("iort_mpmc", [20e6, 22e6, 24e6])):
    for i, v in enumerate(ips):
        rows.append({"name": f"queue/pairs/{impl}/threads:2", "run_name": f"queue/pairs/{impl}/threads:2",
                     "run_type": "iteration", "repetitions": 3, "repetition_index": i, "threads": 2,
                     "iterations": 100, "real_time": 1.0, "cpu_time": 1.0, "time_unit": "ns",
                     "items_per_second": v})
json.dump({"context": {"iobench_git_sha": "abc123", "iobench_quiet": True, "date": "2024-01-01T00:00:00"},
           "benchmarks": rows}, open(sys.argv[1], "w"))
PY
check "tier 3 records ratios" 0 "$iobench" gate --tier 3 --run "$tmp/run" --trend "$tmp/trend.jsonl"
last_line "tier 3" "2 passed, 0 failed"
check "tier 3 again appends" 0 "$iobench" gate --tier 3 --run "$tmp/run/results.json" --trend "$tmp/trend.jsonl"
"$py" - "$tmp/trend.jsonl" <<'PY' || fail "trend file"
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
assert len(lines) == 2, lines
r = lines[0]["ratios"]
assert abs(r["queue/pairs/iort_mpmc/threads:2"] - 2.0) < 1e-9, r
assert abs(r["queue/pairs/rte_mpmc/threads:2"] - 1.0) < 1e-9, r
assert lines[0]["sha"] == "abc123" and lines[0]["quiet"] is True, lines[0]
print("ok: trend lines hold iort_mpmc at 2.0 x rte_mpmc")
PY
expect_err "tier 3 missing run" "$tmp/none" "$iobench" gate --tier 3 --run "$tmp/none" --trend "$tmp/t2.jsonl"

if [ "$fails" -ne 0 ]; then
	echo "$fails check(s) failed"
	exit 1
fi
echo "all gate checks passed"
