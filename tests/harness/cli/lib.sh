# Helpers shared by the CLI tests (sourced). The caller sets $tmp (a scratch folder) and
# fails=0 before sourcing, and ends with `finish`.
# Each check prints "ok: <what>" or "FAIL: <what>: <why>" and counts failures.

fail() { # fail "what: why"
	echo "FAIL: $*"
	fails=$((fails + 1))
}

check() { # check "what" expected_status cmd...: stdout/stderr kept in $tmp/out, $tmp/err
	local what=$1 want=$2 got
	shift 2
	"$@" >"$tmp/out" 2>"$tmp/err"
	got=$?
	if [ "$got" -ne "$want" ]; then
		fail "$what: exit $got, expected $want"
		sed 's/^/  stdout: /' "$tmp/out" | tail -5
		sed 's/^/  stderr: /' "$tmp/err" | head -20
		return 1
	fi
	echo "ok: $what"
}

expect_status_err() { # expect_status_err "what" status "text" cmd...: that status, stderr has text
	local what=$1 want=$2 text=$3
	shift 3
	check "$what" "$want" "$@" || return
	grep -qF -- "$text" "$tmp/err" || {
		fail "$what: stderr lacks '$text'"
		sed 's/^/  stderr: /' "$tmp/err"
	}
}

expect_err() { # expect_err "what" "text" cmd...: exit 2 (bad input) and stderr names the problem
	local what=$1 text=$2
	shift 2
	expect_status_err "$what" 2 "$text" "$@"
}

expect_out() { # expect_out "what" "regex": the last command's stdout has a line matching regex
	if grep -qE -- "$2" "$tmp/out"; then
		echo "ok: $1"
	else
		fail "$1: stdout lacks /$2/"
		sed 's/^/  out: /' "$tmp/out"
	fi
}

last_line() { # last_line "what" "expected last line of stdout"
	local got
	got=$(tail -n 1 "$tmp/out")
	[ "$got" = "$2" ] || fail "$1: last line '$got', expected '$2'"
}

pycheck() { # pycheck "what" python-script args...: the script exits 0
	local what=$1 script=$2
	shift 2
	if /usr/bin/python3 -c "$script" "$@"; then echo "ok: $what"; else fail "$what"; fi
}

finish() { # print the count and exit non-zero when anything failed
	echo "$fails failures"
	[ "$fails" -eq 0 ]
	exit
}
