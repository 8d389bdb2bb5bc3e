#!/usr/bin/env bash
# test_repl.sh — a remote REPL on a terminal (issue 11): in a pty of a
# private tmux server, `cprun -t h1 python3 -i`:
#   an expression typed is evaluated there; sys.stdin.isatty() is True;
#   os.get_terminal_size() is the pane's, and follows a resize of the
#   tmux window (SIGWINCH -> RESIZE -> the remote terminal);
#   Ctrl-C raises KeyboardInterrupt there (python and cprun go on);
#   exit() ends it: cprun exits 0, and `stty -a` after is what it was.
# Speaks TAP.
set -u
. "$(dirname "$0")/tty_lib.sh"
trap tty_cleanup EXIT

tmux_start
ok $? "bash runs at a prompt in tmux (120x30)"
modes_saved "$WORK/before"
ok $? "the local terminal's modes saved"
line "$CPR -t h1 python3 -q -i"
wait_for "$STEP_S" pane_has '^>>> $'
ok $? "python3 -i on h1 prints its prompt"
line "import os, sys, time"
line "print('value', 6 * 7, sys.stdin.isatty(), sys.stdout.isatty())"
wait_for "$STEP_S" pane_has '^value 42 True True$'
ok $? "a typed expression is evaluated there, on a terminal (isatty True)"
line "print('size', tuple(os.get_terminal_size()))"
wait_for "$STEP_S" pane_has '^size \(120, 30\)$'
ok $? "the remote terminal has the pane's size, 120x30"

tm resize-window -t t -x 90 -y 20
line "print('resized', tuple(os.get_terminal_size()))"
wait_for "$STEP_S" pane_has '^resized \(90, 20\)$'
ok $? "after resizing the tmux window the remote size is 90x20"

line "time.sleep(60)"
sleep 0.5
keys C-c
wait_for "$STEP_S" pane_has '^KeyboardInterrupt$'
ok $? "Ctrl-C raises KeyboardInterrupt in the remote python"
line "print('still', 'here')"
wait_for "$STEP_S" pane_has '^still here$'
ok $? "python goes on after it"
cprun_running
ok $? "cprun was not interrupted by Ctrl-C"

tm resize-window -t t -x 120 -y 30
line "exit()"
wait_for "$STEP_S" no_cprun
ok $? "exit() ends the session"
rc_is 0 "cprun exits 0, python's status"
modes_saved "$WORK/after"
ok $? "the local terminal's modes saved again"
cmp -s "$WORK/before" "$WORK/after"
ok $? "stty -a before and after is identical"
[ "$failed" = 0 ] || { dump_pane; diff "$WORK/before" "$WORK/after" | sed 's/^/#   /'; }

done_testing
