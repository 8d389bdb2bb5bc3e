#!/usr/bin/env bash
# test_ctrlz.sh — Ctrl-Z on cprun at a real terminal (issue 9).  In a pty
# of a private tmux server, at a bash prompt:
#   cprun h1 sh -c 'cat > FILE'     a, Enter          FILE holds "a\n"
#   Ctrl-Z                          bash says Stopped
#   echo typed-at-shell, Enter      bash runs it; FILE does not get it
#   fg, Enter; c, Enter; Ctrl-D     cprun exits 0; FILE is exactly "a\nc\n"
# So nothing typed while cprun is stopped reaches the remote program (the
# relay must not read the terminal for a stopped caller), and nothing typed
# after fg is lost.  The hosts are on loopback: FILE is on this machine.
# Each wait is polled with a wide bound.  Speaks TAP.
set -u
. "$(dirname "$0")/lib.sh"

FILE=$WORK/typed
cleanup() {
	local p
	for p in $(our_cprun); do
		diag "cprun still runs (pid $p): killed"
		kill -KILL "$p" 2>/dev/null
	done
	tmux_stop
	kill_tagged cat sh
	rm -rf "$WORK"
}
trap cleanup EXIT

file_is() { [ "$(cat "$FILE" 2>/dev/null; echo .)" = "$1." ]; }
STEP_S=15

tmux_start
ok $? "bash runs at a prompt in tmux"
line "$CPRUN -F $CONFIG -e CPRTAG=$TAG h1 sh -c 'cat > $FILE'"
wait_for "$STEP_S" some_tagged cat
ok $? "the remote cat runs"
line a
wait_for "$STEP_S" file_is $'a\n'
ok $? "a line typed before Ctrl-Z reaches FILE"

keys C-z
wait_for "$STEP_S" pane_has 'Stopped'
ok $? "Ctrl-Z: bash reports cprun Stopped"
cprun_stopped
ok $? "Ctrl-Z: cprun is stopped"
line "echo typed-at-shell"
wait_for "$STEP_S" pane_has '^typed-at-shell$'
ok $? "a line typed while cprun is stopped reaches bash"
# The remote cat writes what it gets at once: had the relay read the line,
# FILE would have it by now that bash has run its own copy of the line or
# given up waiting for it.  Checked again at the end.
grep -q typed-at-shell "$FILE"
ok $((!$?)) "FILE does not get what was typed while cprun was stopped"

line fg
# Typed only once bash has given cprun the terminal and continued it.
wait_for "$STEP_S" cprun_running
ok $? "fg: cprun runs again"
line c
wait_for "$STEP_S" file_is $'a\nc\n'
ok $? "a line typed after fg reaches FILE"
keys C-d
wait_for "$STEP_S" no_cprun
ok $? "Ctrl-D: cprun ends"
line 'echo "rc=$?"'
wait_for "$STEP_S" pane_has '^rc=[0-9]+$'
is "$(pane | sed -n 's/^rc=\([0-9]*\)$/\1/p' | tail -1)" 0 "cprun exits 0"
file_is $'a\nc\n'
ok $? "FILE is exactly \"a\\nc\\n\": nothing lost, nothing extra"
od -c "$FILE" 2>/dev/null | sed 's/^/#   FILE: /'
[ "$failed" = 0 ] || dump_pane

done_testing
