#!/usr/bin/env bash
# test_restore.sh — the local terminal is given back as it was however a
# terminal session ends (issue 11), in tmux, `cprun -t h1 cat` each time:
#   ~. typed after a newline: cprun ends at once (255, "Connection to h1
#   closed."), and the remote cat is gone;
#   the relay killed (SIGKILL): cprun ends with 255;
#   the connection cut mid-session (test/tools/netproxy in front of h1's
#   sshd, a TCP reset): cprun ends with 255;
# and after each `stty -a` is what it was before.  Speaks TAP.
set -u
. "$(dirname "$0")/tty_lib.sh"
PROXY_PID=
cleanup() {
	[ -n "$PROXY_PID" ] && kill "$PROXY_PID" 2>/dev/null
	tty_cleanup
}
trap cleanup EXIT

# The relay started by the pane's cprun: it inherits the environment, where CPRRELAY carries our tag.
our_relay() {
	local p
	for p in $(pgrep -u "$(id -u)" -x cpremote-relay); do
		tr '\0' '\n' 2>/dev/null <"/proc/$p/environ" | grep -qx "CPRRELAY=$TAG" && echo "$p"
	done
}
some_relay() { [ -n "$(our_relay)" ]; }
# session ARGS...: starts `cprun -t ARGS h1 cat` in the pane and waits for the remote cat.
session() {
	line "CPRRELAY=$TAG $CPR $* -t h1 cat"
	wait_for "$STEP_S" some_tagged cat
}
# restored WHAT: the pane's modes are those saved at the start.
restored() {
	modes_saved "$WORK/after"
	cmp -s "$WORK/before" "$WORK/after"
	ok $? "$1: stty -a after is what it was before"
	[ "$failed" = 0 ] || diff "$WORK/before" "$WORK/after" | sed 's/^/#   /'
}

tmux_start
ok $? "bash runs at a prompt in tmux"
modes_saved "$WORK/before"
ok $? "the local terminal's modes saved"

session
ok $? "~.: the session runs"
line "typed"
wait_for "$STEP_S" pane_has '^typed$'
keys '~' '.'
wait_for "$STEP_S" no_cprun
ok $? "~. after a newline ends cprun"
wait_for "$STEP_S" pane_has '^Connection to h1 closed\.$'
ok $? "~.: cprun says the connection is closed"
rc_is 255 "~.: cprun exits 255, as ssh"
wait_for "$STEP_S" none_tagged cat
ok $? "~.: the remote cat is gone"
restored "~."

session
ok $? "relay killed: the session runs"
wait_for "$STEP_S" some_relay
kill -KILL $(our_relay)
wait_for "$STEP_S" no_cprun
ok $? "relay killed: cprun ends"
rc_is 255 "relay killed: cprun exits 255"
restored "relay killed"

# The proxy listens on h1's address; its known_hosts is h1's under the proxy's port.
PROXY_OUT=$WORK/proxy.port
"$CPREMOTE_TEST_BUILD/tools/netproxy" 127.0.0.2:0 "127.0.0.2:$CPREMOTE_TEST_PORT" >"$PROXY_OUT" &
PROXY_PID=$!
wait_for "$STEP_S" test -s "$PROXY_OUT"
PPORT=$(head -1 "$PROXY_OUT")
sed -n "s/^\[127\.0\.0\.2\]:$CPREMOTE_TEST_PORT /[127.0.0.2]:$PPORT /p" "$DIR/known_hosts" >"$WORK/kh"
session -o Port=$PPORT -o UserKnownHostsFile=$WORK/kh
ok $? "connection cut: the session runs through the proxy"
kill -USR1 "$PROXY_PID"
wait_for 30 no_cprun
ok $? "connection cut: cprun ends"
rc_is 255 "connection cut: cprun exits 255"
restored "connection cut"
[ "$failed" = 0 ] || dump_pane

done_testing
