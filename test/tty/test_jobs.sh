#!/usr/bin/env bash
# test_jobs.sh — job control of a remote shell on a terminal (issue 11):
# in tmux, `cprun -t h1 bash -i`, then `sleep 100`, Ctrl-Z (the remote
# bash stops its job; cprun itself is not stopped), `bg`, `jobs` (Running),
# `kill %1` (the sleep is gone from the host), another sleep ended by
# Ctrl-\ (SIGQUIT there), `sleep 100 &` then `exit` (cprun exits 0 and
# does not wait for what holds the terminal).
# Ctrl-Z is a byte in raw mode: the remote terminal's line discipline
# makes it SIGTSTP for the remote foreground job.  Speaks TAP.
set -u
. "$(dirname "$0")/tty_lib.sh"
trap tty_cleanup EXIT

tmux_start
ok $? "bash runs at a prompt in tmux"
line "$CPR -e 'PS1=REMOTE\$ ' -t h1 bash --norc --noprofile -i"
wait_for "$STEP_S" pane_has '^REMOTE\$ $'
ok $? "bash -i on h1 prints its prompt"
line "sleep 100"
wait_for "$STEP_S" some_tagged sleep
ok $? "sleep 100 runs on the host"
sleep 0.3
keys C-z
wait_for "$STEP_S" pane_has '^\[1\]\+ +Stopped +sleep 100$'
ok $? "Ctrl-Z: the remote bash reports its job Stopped"
cprun_running
ok $? "Ctrl-Z: cprun itself is not stopped"
line "bg"
wait_for "$STEP_S" pane_has '^\[1\]\+ sleep 100 &$'
ok $? "bg: the job continues in the background"
line "jobs"
wait_for "$STEP_S" pane_has '^\[1\]\+ +Running +sleep 100 &$'
ok $? "jobs: Running"
line "kill %1"
wait_for "$STEP_S" none_tagged sleep
ok $? "kill %1: the sleep is gone from the host"
line "sleep 100"
wait_for "$STEP_S" some_tagged sleep
ok $? "another sleep 100 runs on the host"
sleep 0.3
tm send-keys -t t -H 1c # Ctrl-\ (tmux has no key name for it)
wait_for "$STEP_S" none_tagged sleep
ok $? "Ctrl-\\: the remote terminal's SIGQUIT ends it"
wait_for "$STEP_S" pane_has 'Quit'
ok $? "... and the remote bash says Quit"
line "jobs; echo jobs-done"
wait_for "$STEP_S" pane_has '^jobs-done$'
ok $? "the remote shell goes on"
# What is left in the background holds the terminal: as with sshd, the
# session ends all the same (the helper hangs the terminal up).
line "sleep 100 &"
wait_for "$STEP_S" some_tagged sleep
ok $? "a sleep 100 & left in the background"
line "exit"
wait_for "$STEP_S" no_cprun
ok $? "exit ends the session, although the background sleep holds the terminal"
rc_is 0 "cprun exits 0"
# As after ssh, the background sleep runs on (bash sends no SIGHUP to running jobs).
for p in $(tagged sleep); do kill "$p"; done
[ "$failed" = 0 ] || dump_pane

done_testing
