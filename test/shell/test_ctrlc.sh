#!/usr/bin/env bash
# test_ctrlc.sh — Ctrl-C on cprun while the remote program's child holds
# its stdout (issue 9).  In a pty of a private tmux server, at a bash
# prompt, `cprun h1 sh` (no terminal on the host: the remote sh reads its
# commands from the pipe); at it `sleep 100`; once that sleep runs on the
# host, Ctrl-C: cprun ends within 5 s with exit 130, and within 5 s more no
# `sleep 100` of the test user is left (the signal reaches the remote
# child's whole process group, as a terminal delivers it).  The hosts are
# on loopback: the host's process table is this machine's.  Speaks TAP.
set -u
. "$(dirname "$0")/lib.sh"

cleanup() {
	local p
	for p in $(our_cprun); do
		diag "cprun still runs (pid $p): killed"
		kill -KILL "$p" 2>/dev/null
	done
	tmux_stop
	kill_tagged sleep sh
	rm -rf "$WORK"
}
trap cleanup EXIT

STEP_S=15
END_S=5

tmux_start
ok $? "bash runs at a prompt in tmux"
line "$CPRUN -F $CONFIG -e CPRTAG=$TAG h1 sh"
wait_for "$STEP_S" some_tagged sh
ok $? "the remote sh runs"
line "sleep 100"
wait_for "$STEP_S" some_tagged sleep
ok $? "the remote sleep 100 runs"

keys C-c
t0=$(now_ms)
wait_for $((END_S * 3)) no_cprun
took=$(($(now_ms) - t0))
diag "cprun ended ${took} ms after Ctrl-C (or still runs)"
ok $((took >= END_S * 1000)) "Ctrl-C: cprun ends within $END_S s"
# What is typed from here on goes to bash only once cprun has gone.
line 'echo "rc=$?"'
wait_for "$STEP_S" pane_has '^rc=[0-9]+$'
is "$(pane | sed -n 's/^rc=\([0-9]*\)$/\1/p' | tail -1)" 130 "cprun exits 130"
t0=$(now_ms)
wait_for "$END_S" none_tagged sleep
ok $? "no sleep 100 of the test user is left on the host within $END_S s"
diag "the remote sleep was gone $(($(now_ms) - t0)) ms after cprun's end (or not)"
[ "$failed" = 0 ] || dump_pane

done_testing
