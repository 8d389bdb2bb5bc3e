#!/bin/sh
# test_status_fd.sh — cprun --status-fd N, which the Node.js binding reads:
# one line on fd N for the program's exit code, for the signal that ended
# it, and for cprun's own failure (an unknown host); refused with -H and
# for a closed fd.  TAP.
set -u

n=0
failed=0
ok() { # ok COND-STATUS DESCRIPTION [DETAIL]
	n=$((n + 1))
	if [ "$1" -eq 0 ]; then
		echo "ok $n - $2"
	else
		failed=1
		echo "not ok $n - $2"
		[ -n "${3:-}" ] && echo "#   $3"
	fi
}

if [ -z "${CPREMOTE_TEST_DIR:-}" ] || [ ! -f "$CPREMOTE_TEST_DIR/ssh_config" ] || [ -z "${CPRUN:-}" ]; then
	echo "1..0 # SKIP no test hosts or no CPRUN"
	exit 0
fi
F=$CPREMOTE_TEST_DIR/ssh_config
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# run EXPECTED-LINE-REGEX EXPECTED-STATUS DESCRIPTION CPRUN-ARGS...
run() {
	want=$1 wantrc=$2 what=$3
	shift 3
	"$CPRUN" -F "$F" --status-fd 5 "$@" 5>"$tmp/status" 2>"$tmp/err"
	rc=$?
	line=$(cat "$tmp/status")
	echo "$line" | grep -Eq "^$want\$" && [ "$(wc -l <"$tmp/status")" -eq 1 ]
	ok $? "$what: the status line" "got '$line'"
	[ "$rc" -eq "$wantrc" ]
	ok $? "$what: exit status $wantrc as before" "got $rc"
}

run 'exit 3' 3 'exit 3' h1 sh -c 'exit 3'
run 'exit 143' 143 'a program exiting 143 itself' h1 sh -c 'exit 143'
run 'signal 15' 143 'killed by SIGTERM' h1 sh -c 'kill -TERM $$'
run 'exit 255' 255 'a program exiting 255 itself' h1 sh -c 'exit 255'
run 'error 255 no-such-host\.invalid: .+' 255 'an unknown host' no-such-host.invalid true
run 'error 127 .+' 127 'a program not found' h1 /no/such/program

"$CPRUN" -F "$F" -H h1 --status-fd 5 true 5>/dev/null 2>"$tmp/err"
[ $? -eq 2 ]
ok $? "refused with -H (usage, exit 2)"
"$CPRUN" -F "$F" --status-fd 9 h1 true 2>"$tmp/err" 9>&-
[ $? -eq 2 ]
ok $? "a closed fd is refused (exit 2)"

echo "1..$n"
exit $failed
