#!/usr/bin/env bash
# test_login.sh — `cprun HOST` without a program (issue 11), as `ssh HOST`:
#   at a terminal (tmux): the user's login shell, as a login shell ($0
#   starts with "-"), on a terminal of the host; exit ends it with the
#   shell's status;
#   without a terminal: ssh's note "Pseudo-terminal will not be
#   allocated", and the login shell reads its commands from stdin;
#   -T at a terminal: the login shell without a terminal.
# Speaks TAP.
set -u
. "$(dirname "$0")/tty_lib.sh"
trap tty_cleanup EXIT

tmux_start
ok $? "bash runs at a prompt in tmux"
line "$CPR h1"
line 'echo "zero=$0 tty=$(tty)"'
wait_for "$STEP_S" pane_has 'zero=-[a-z]+ tty=/dev/pts/[0-9]+$'
ok $? "cprun h1: a login shell on a terminal of the host"
line "exit 4"
wait_for "$STEP_S" no_cprun
ok $? "exit ends the session"
rc_is 4 "cprun exits with the shell's status (4)"
line "$CPR -T h1"
line 'tty || echo "zero=$0 no-tty"'
wait_for "$STEP_S" pane_has 'zero=-[a-z]+ no-tty$'
ok $? "cprun -T h1: the login shell without a terminal"
keys C-d
wait_for "$STEP_S" no_cprun
ok $? "Ctrl-D (end of its stdin) ends it"
tmux_stop

out=$(printf 'echo "zero=$0"; exit 5\n' | $CPRUN -F "$CONFIG" h1 2>"$WORK/err")
is "$?" 5 "without a terminal: the login shell's status (5)"
[[ "$out" =~ ^zero=-[a-z]+$ ]]
ok $? "... a login shell that ran the commands of stdin ($out)"
grep -q '^Pseudo-terminal will not be allocated because stdin is not a terminal.$' "$WORK/err"
ok $? "... and ssh's note on stderr"
[ "$failed" = 0 ] || dump_pane

done_testing
