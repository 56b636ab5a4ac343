#!/usr/bin/env bash
# iobench CLI: help, list, run (results file shape, context, calibration, compare.py reads it),
# and bad input (exit 2, a message naming the problem, nothing already written lost).
set -uo pipefail
iobench=${IOBENCH:?set by meson}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

check "iobench --help" 0 "$iobench" --help
grep -q "usage: iobench" "$tmp/out" || { echo "FAIL: --help prints usage"; fails=$((fails + 1)); }
for c in run list topo; do
	check "iobench $c --help" 0 "$iobench" "$c" --help
	check "iobench help $c" 0 "$iobench" help "$c"
done
expect_err "no command" "iobench: no command given; see 'iobench help'" "$iobench"
expect_err "unknown command" "iobench: unknown command 'frobnicate'; see 'iobench help'" "$iobench" frobnicate

# --version and version: "iobench <meson version> (<git sha>)", the sha of the build's checkout.
want_version=$(sed -n "s/^ *version : '\(.*\)',\$/\1/p" "${IOBENCH_SOURCE_ROOT:?set by meson}/meson.build")
for v in --version version; do
	check "iobench $v" 0 "$iobench" "$v"
	expect_out "iobench $v names the version and the sha" "^iobench ${want_version//./\\.} \([0-9a-f]{7,}(-dirty)?\)$"
	[ "$(wc -l <"$tmp/out")" -eq 1 ] || fail "iobench $v: one line"
done
sha=$(git -C "$IOBENCH_SOURCE_ROOT" rev-parse --short=12 HEAD 2>/dev/null) &&
	{ grep -qF "($sha" "$tmp/out" || fail "iobench version: sha is HEAD's ($sha): $(cat "$tmp/out")"; }
expect_err "version takes no argument" "see 'iobench help'" "$iobench" version extra

# A usage error is ONE line: the command, the problem, and where to read more; never the usage.
for c in run list show plot compare gate merge topo; do
	for bad in --bogus "--bogus=1" -Z; do
		expect_err "$c $bad: one line" "iobench $c: unknown option '${bad%%=*}'; see 'iobench help $c'" "$iobench" "$c" "$bad"
		[ "$(wc -l <"$tmp/err")" -eq 1 ] || fail "$c $bad: $(wc -l <"$tmp/err") lines on stderr"
		grep -q "usage:" "$tmp/err" && fail "$c $bad: the usage is not printed on an error"
		[ -s "$tmp/out" ] && fail "$c $bad: nothing on stdout"
	done
	check "iobench $c --help" 0 "$iobench" "$c" --help
	grep -q "^usage: iobench $c" "$tmp/out" || fail "$c --help: the full usage on stdout"
	[ -s "$tmp/err" ] && fail "$c --help: nothing on stderr"
done
for args in "run --repetitions" "show --json=1" "topo --threads" "gate --tier 7" "run --cells" \
	"list --no-plots" "topo stray" "run stray" "gate stray" "show" "compare a" "plot" "merge a" \
	"run --synthetic x --xml y"; do
	read -ra a <<<"$args"
	c=${a[0]}
	check "iobench $args: exit 2" 2 "$iobench" "${a[@]}"
	[ "$(wc -l <"$tmp/err")" -eq 1 ] || fail "$args: $(wc -l <"$tmp/err") lines on stderr"
	grep -qE "^iobench $c: .*; see 'iobench help $c'\$" "$tmp/err" ||
		fail "$args: stderr is not 'iobench $c: ...; see 'iobench help $c'': $(cat "$tmp/err")"
done
expect_err "option value named" "option '--repetitions' needs a value" "$iobench" run --repetitions
expect_err "value given to a flag" "option '--json' takes no value" "$iobench" show --json=1
# A hostile option is shown escaped: no escape sequence reaches the terminal.
check "hostile option" 2 "$iobench" show $'--\e[2Jx'
grep -q $'\e' "$tmp/err" && fail "hostile option: ESC reached stderr"
grep -qF '\x1b[2Jx' "$tmp/err" || fail "hostile option: shown escaped: $(cat -v "$tmp/err")"
expect_err "unknown run option" "unknown option '--bogus'" "$iobench" run --bogus
expect_err "missing option value" "needs a value" "$iobench" run --repetitions
expect_err "bad repetitions" "--repetitions" "$iobench" run --repetitions 0
expect_err "bad min-time" "--min-time" "$iobench" run --min-time abc
expect_err "bad order" "--order" "$iobench" run --order sideways
expect_err "bad regex" "not a valid regular expression" "$iobench" run --filter '(' --out "$tmp/x"
expect_err "missing bench binary" "missing or not executable" "$iobench" run --bench "$tmp/nope" --out "$tmp/x"
expect_err "bad placement" "placement" "$iobench" run --placement bogus --out "$tmp/bp" --no-calibration
touch "$tmp/file"
expect_err "output under a file" "cannot create output folder" "$iobench" run --out "$tmp/file/sub"

check "iobench list" 0 "$iobench" list
grep -q '^calib/clock/clock_gettime' "$tmp/out" || { echo "FAIL: list shows calib/clock/clock_gettime"; fails=$((fails + 1)); }
check "iobench list --filter" 0 "$iobench" list --filter '^calib/syscall'
[ "$(wc -l <"$tmp/out")" -eq 1 ] || { echo "FAIL: list --filter selects one"; cat "$tmp/out"; fails=$((fails + 1)); }

out=$tmp/run1
check "iobench run" 0 "$iobench" run --out "$out" --filter '^harness/' --repetitions 2 --min-time 0.01
/usr/bin/python3 - "$out/results.json" <<'PY' || fails=$((fails + 1))
import json, sys
d = json.load(open(sys.argv[1]))
c = d["context"]
need = ["iobench_git_sha", "iobench_compiler", "iobench_build_type", "iobench_kernel",
        "iobench_cpu_model", "iobench_topology_source", "iobench_simulated", "iobench_placement",
        "iobench_topology", "iobench_load_before", "iobench_load_after", "iobench_steal_pct",
        "iobench_quiet", "iobench_calibration", "date", "num_cpus"]
missing = [k for k in need if k not in c]
assert not missing, f"context lacks {missing}"
assert c["iobench_simulated"] is False, c["iobench_simulated"]
assert isinstance(c["iobench_topology"]["plan"], list) and c["iobench_topology"]["is_thissystem"] is True
cal = c["iobench_calibration"]
for k in ["clock_gettime_ns", "tsc_read_ns", "syscall_ns"]:
    assert isinstance(cal.get(k), float) and cal[k] > 0, (k, cal.get(k))
if c["num_cpus"] >= 2:
    assert cal["futex_wake_roundtrip_ns"] > 0 and cal["cacheline_roundtrip_ns"], cal
names = [b["name"] for b in d["benchmarks"]]
assert any(n.startswith("calib/") for n in names), "calibration rows missing"
it = [b for b in d["benchmarks"] if b["name"].startswith("harness/") and b["run_type"] == "iteration"]
assert len(it) == 2, f"expected 2 repetitions of harness/, got {len(it)}"
assert any(b.get("aggregate_name") == "median" for b in d["benchmarks"]), "no median aggregate"
print("ok: results.json context, calibration and rows")
PY
sum_before=$(md5sum <"$out/results.json")
expect_err "refuses to overwrite results.json" "already exists" "$iobench" run --out "$out" --no-calibration
[ "$sum_before" = "$(md5sum <"$out/results.json")" ] || { echo "FAIL: existing results changed"; fails=$((fails + 1)); }

if [ -f /usr/share/benchmark/compare.py ]; then
	check "compare.py reads two runs" 0 /usr/bin/python3 /usr/share/benchmark/compare.py benchmarks "$out/results.json" "$out/results.json"
	grep -q "harness/hist_record" "$tmp/out" || { echo "FAIL: compare.py output lacks the benchmark"; fails=$((fails + 1)); }
else
	echo "FAIL: /usr/share/benchmark/compare.py missing (libbenchmark-tools)"; fails=$((fails + 1))
fi

sim=$tmp/sim
check "simulated run" 0 "$iobench" run --out "$sim" --synthetic "pack:2 numa:2 core:2 pu:2" --placement spread --filter '^harness/' --repetitions 1 --min-time 0.01 --no-calibration
/usr/bin/python3 -c '
import json,sys; c=json.load(open(sys.argv[1]))["context"]
assert c["iobench_simulated"] is True and c["iobench_topology"]["is_thissystem"] is False
assert len({p["numa"] for p in c["iobench_topology"]["plan"][:2]}) == 2, c["iobench_topology"]["plan"]
print("ok: simulated run is marked simulated, spread plan on 2 nodes")' "$sim/results.json" || fails=$((fails + 1))

crash=$tmp/crash
cat >"$tmp/crash.json" <<'EOF2'
{"name": "crash", "defaults": {"repetitions": 1, "min_time": 0.01, "warmup": 0},
 "suites": [{"family": "harness/hist_record", "impls": ["iob_hist"]},
            {"family": "selftest/crash", "impls": ["abort"]}]}
EOF2
check "a crashing cell fails the run (exit 1)" 1 env IOBENCH_SELFTEST_CRASH=1 "$iobench" run --out "$crash" --matrix "$tmp/crash.json" --no-calibration --no-plots
/usr/bin/python3 -c '
import json,sys; d=json.load(open(sys.argv[1])); c=d["context"]
names=[b["name"] for b in d["benchmarks"]]
assert any(n.startswith("harness/hist_record") for n in names), names
err=[b for b in d["benchmarks"] if b.get("error_occurred")]
assert len(err)==1 and "signal" in err[0]["error_message"], err
assert "signal" in c.get("iobench_incomplete",""), c.get("iobench_incomplete")
print("ok: the other cell is kept, the crash is an error row, run marked incomplete:", c["iobench_incomplete"])' "$crash/results.json" || fails=$((fails + 1))

echo "$fails failures"
[ "$fails" -eq 0 ]
