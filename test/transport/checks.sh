# checks.sh — what the transport tests share, sourced: TAP counting (ok,
# is) and the checks every transport passes for one destination
# (stream_checks).  The sourcing script defines run (cprun with its
# options) and WORK (a scratch directory), and prints the plan "1..$t" at
# the end and exits with $failed.

t=0 failed=0
ok() { # ok COND-EXIT-CODE DESCRIPTION; returns whether it passed
	t=$((t + 1))
	if [ "$1" = 0 ]; then echo "ok $t - $2"; else echo "not ok $t - $2"; failed=1; fi
	[ "$1" = 0 ]
}
is() { # is GOT WANT DESCRIPTION
	[ "$1" = "$2" ]
	local r=$?
	[ $r = 0 ] || echo "# got '$1', want '$2'"
	ok $r "$3"
}

# stream_checks DEST: stdin, stdout, stderr, an exit code and death by a signal through DEST.
stream_checks() {
	local out
	out=$(echo in-put | run "$1" sh -c 'cat; echo err >&2; exit 7' 2>"$WORK/err")
	is $? 7 "$1: the exit code arrives"
	is "$out" in-put "$1: stdin and stdout"
	grep -qx err "$WORK/err"
	ok $? "$1: stderr"
	run "$1" sh -c 'kill -TERM $$' 2>/dev/null
	is $? $((128 + 15)) "$1: death by a signal"
}
