#!/bin/bash
# `iobench topo`: JSON output checked field by field, text output, and every bad input exits 2
# with a message on stderr that names the problem. Stops at the first failure.
set -u

: "${IOBENCH:?IOBENCH must point to the iobench binary}"
PY=/usr/bin/python3
DATA="${IOBENCH_SOURCE_ROOT:?IOBENCH_SOURCE_ROOT must point to the source tree}/tests/data/topo"
SYN="pack:2 numa:2 core:4 pu:2"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
n=0

fail() {
	echo "FAIL: $*" >&2
	for f in out err; do
		[ -s "$tmp/$f" ] && { echo "--- std$f:" >&2; head -40 "$tmp/$f" >&2; }
	done
	exit 1
}

# run CMD...: run iobench, keep stdout/stderr in $tmp/out, $tmp/err, the status in $rc. A run
# that hangs (an input iobench should have refused) ends as status 124.
run() {
	timeout 60 "$IOBENCH" "$@" >"$tmp/out" 2>"$tmp/err"
	rc=$?
}

check() {
	n=$((n + 1))
	echo "check $n: $*"
}

# json_check PYEXPR: PYEXPR (over j = parsed stdout) must be true.
json_check() {
	"$PY" -c '
import json, sys
j = json.load(open(sys.argv[1]))
ok = eval(sys.argv[2])
sys.exit(0 if ok else 1)' "$tmp/out" "$1" || fail "JSON check failed: $1"
}

# bad_input WORD ARGS...: exit 2, nothing on stdout, stderr mentions WORD.
bad_input() {
	local word=$1
	shift
	check "iobench $* -> exit 2, stderr names '$word'"
	run "$@"
	[ "$rc" -eq 2 ] || fail "iobench $*: exit $rc, want 2"
	[ -s "$tmp/err" ] || fail "iobench $*: nothing on stderr"
	grep -qF -- "$word" "$tmp/err" || fail "iobench $*: stderr does not mention '$word'"
	[ -s "$tmp/out" ] && fail "iobench $*: wrote to stdout on error"
	return 0
}

check "topo --help exits 0 with usage on stdout"
run topo --help
[ "$rc" -eq 0 ] || fail "topo --help: exit $rc"
grep -q "usage: iobench topo" "$tmp/out" || fail "topo --help: no usage on stdout"

check "help topo exits 0 with usage on stdout"
run help topo
[ "$rc" -eq 0 ] || fail "help topo: exit $rc"
grep -q "usage: iobench topo" "$tmp/out" || fail "help topo: no usage on stdout"

check "spread 4 threads on '$SYN' -> 4 distinct NUMA nodes, simulated"
run topo --synthetic "$SYN" --threads 4 --placement spread --json
[ "$rc" -eq 0 ] || fail "exit $rc"
json_check 'sorted(j.keys()) == ["is_thissystem", "numa_nodes", "plan", "pus_without_numa", "source"]'
json_check 'j["pus_without_numa"] == []'
json_check 'j["source"] == "synthetic:pack:2 numa:2 core:4 pu:2" and j["is_thissystem"] is False'
json_check '[n["os_index"] for n in j["numa_nodes"]] == [0, 1, 2, 3]'
json_check 'all(n["pus"] == list(range(8 * n["os_index"], 8 * n["os_index"] + 8)) for n in j["numa_nodes"])'
json_check '[p["thread"] for p in j["plan"]] == [0, 1, 2, 3]'
json_check 'len({p["numa"] for p in j["plan"]}) == 4'
json_check 'all(p["numa"] == p["pu"] // 8 and sorted(p) == ["numa", "pu", "thread"] for p in j["plan"])'

check "compact default threads on '$SYN' -> all 32 PUs in order"
run topo --synthetic "$SYN" --json
[ "$rc" -eq 0 ] || fail "exit $rc"
json_check '[p["pu"] for p in j["plan"]] == list(range(32))'

check "numa:2 stays on node 2"
run topo -s "$SYN" -p numa:2 --json
[ "$rc" -eq 0 ] || fail "exit $rc"
json_check 'len(j["plan"]) == 8 and all(p["numa"] == 2 for p in j["plan"])'

check "bare list 5,30 keeps order"
run topo -s "$SYN" -p 5,30 --json
[ "$rc" -eq 0 ] || fail "exit $rc"
json_check '[(p["pu"], p["numa"]) for p in j["plan"]] == [(5, 0), (30, 3)]'

check "--oversubscribe wraps 40 threads over 32 PUs"
run topo -s "$SYN" -t 40 --oversubscribe --json
[ "$rc" -eq 0 ] || fail "exit $rc"
json_check '[p["pu"] for p in j["plan"]] == [i % 32 for i in range(40)]'

check "text output on a synthetic topology says it is a plan only"
run topo -s "$SYN" -t 2 -p spread
[ "$rc" -eq 0 ] || fail "exit $rc"
grep -q "SIMULATED" "$tmp/out" || fail "no SIMULATED marker"
grep -q "plan only" "$tmp/out" || fail "no 'plan only' note"
grep -q "thread 1 -> PU 8" "$tmp/out" || fail "plan line for thread 1 missing"

check "XML round trip: lstopo export of '$SYN' gives the same plan"
if command -v lstopo-no-graphics >/dev/null; then
	lstopo-no-graphics --input "$SYN" --of xml "$tmp/syn.xml" || fail "lstopo export failed"
	run topo --xml "$tmp/syn.xml" -p spread --json
	[ "$rc" -eq 0 ] || fail "exit $rc"
	cp "$tmp/out" "$tmp/xml.json"
	run topo -s "$SYN" -p spread --json
	"$PY" -c '
import json, sys
a, b = (json.load(open(f)) for f in sys.argv[1:3])
assert a["plan"] == b["plan"] and a["numa_nodes"] == b["numa_nodes"], "plans differ"
assert a["is_thissystem"] is False and a["source"] == "xml:" + sys.argv[3]
' "$tmp/xml.json" "$tmp/out" "$tmp/syn.xml" || fail "XML and synthetic plans differ"
else
	echo "  (lstopo-no-graphics not installed: skipped)"
fi

check "cpuset.mems=0 fixture: PUs 4-7 have no NUMA node, spread deals them after node 0"
run topo --xml "$DATA/nodeless-mems.xml" -p spread --json
[ "$rc" -eq 0 ] || fail "exit $rc"
json_check 'j["pus_without_numa"] == [4, 5, 6, 7]'
json_check '[n["os_index"] for n in j["numa_nodes"]] == [0]'
json_check '[(p["pu"], p["numa"]) for p in j["plan"]] == [(0, 0), (4, None), (2, 0), (6, None), (1, 0), (5, None), (3, 0), (7, None)]'
run topo --xml "$DATA/nodeless-mems.xml" -p compact
[ "$rc" -eq 0 ] || fail "text: exit $rc"
grep -q "no NUMA node (not allowed or offline): PUs 4-7" "$tmp/out" || fail "no line for node-less PUs"
grep -q "thread 4 -> PU 4 (core 2, NUMA none)" "$tmp/out" || fail "node-less PU not shown as NUMA none"

check "numa:0 on the cpuset.mems=0 fixture never takes node-less PUs"
run topo --xml "$DATA/nodeless-mems.xml" -p numa:0 --json
[ "$rc" -eq 0 ] || fail "exit $rc"
json_check '[(p["pu"], p["numa"]) for p in j["plan"]] == [(0, 0), (1, 0), (2, 0), (3, 0)]'

check "nodes listed out of OS order: spread starts at node 0"
run topo --xml "$DATA/nodes-out-of-order.xml" -p spread -t 2 --json
[ "$rc" -eq 0 ] || fail "exit $rc"
json_check '[(p["pu"], p["numa"]) for p in j["plan"]] == [(4, 0), (0, 1)]'
json_check '[n["os_index"] for n in j["numa_nodes"]] == [0, 1]'

check "synthetic topology past the limit is refused at once, not built"
start=$(date +%s%N)
run topo --synthetic "pack:1000 core:1000 pu:1000"
ms=$((($(date +%s%N) - start) / 1000000))
[ "$rc" -eq 2 ] || fail "exit $rc, want 2"
grep -qF "has 1000000000 PUs, more than the limit of 4096" "$tmp/err" || fail "limit not named"
echo "  refused in $ms ms"

check "this system: is_thissystem true, one plan entry per PU"
run topo --json
[ "$rc" -eq 0 ] || fail "exit $rc"
json_check 'j["source"] == "system" and j["is_thissystem"] is True'
json_check 'len(j["plan"]) == len({p for n in j["numa_nodes"] for p in n["pus"]}) >= 1'
run topo
[ "$rc" -eq 0 ] || fail "text: exit $rc"
grep -q "SIMULATED" "$tmp/out" && fail "system topology marked SIMULATED"

bad_input "bogus:3" topo --synthetic "pack:2 bogus:3"
bad_input "synthetic" topo --synthetic ""
bad_input "/nonexistent/topo.xml" topo --xml /nonexistent/topo.xml
bad_input "$tmp" topo --xml "$tmp"
printf 'not xml\n' >"$tmp/bad.xml"
bad_input "$tmp/bad.xml" topo --xml "$tmp/bad.xml"
bad_input "format 3.0" topo --xml "$DATA/format-v3.xml"
grep -qF -- "--export-xml-flags v2" "$tmp/err" || fail "format 3.0: no re-export advice"
bad_input "line 8: object has 'cpuset' but no 'complete_cpuset'" topo --xml "$DATA/missing-complete-cpuset.xml"
truncate -s 17M "$tmp/huge.xml"
bad_input "more than the limit of 16777216 bytes (16 MiB)" topo --xml "$tmp/huge.xml"
bad_input "core:513" topo --synthetic "pack:2 core:513 pu:1"
bad_input "numa:1" topo --xml "$DATA/nodeless-mems.xml" -p numa:1
bad_input "sideways" topo -s "$SYN" --placement sideways
bad_input "numa:9" topo -s "$SYN" --placement numa:9
bad_input "list:0,99" topo -s "$SYN" --placement list:0,99
bad_input "33 threads" topo -s "$SYN" --threads 33
bad_input "--no-such-option" topo --no-such-option
bad_input "-q" topo -q
bad_input "--synthetic and --xml" topo --synthetic "$SYN" --xml "$tmp/bad.xml"
bad_input "abc" topo --threads abc
bad_input "'0'" topo --threads 0
bad_input "-5" topo --threads -5
bad_input "--threads" topo --threads
bad_input "stray" topo stray

echo "all $n checks passed"
