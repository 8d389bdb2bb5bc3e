#!/usr/bin/env bash
# test_stty.sh — what the remote terminal is made of (issue 11):
#   in tmux (120x30): `cprun -t h1 sh -c 'stty size; tput cols'` prints
#   "30 120" and "120"; a mode changed locally (stty intr ^B) is the
#   remote terminal's too, TERM is the pane's, and the exit status is the
#   program's; interactive top draws its screen and q quits it;
#   without a terminal: top -b -n 1 reports; -t says ssh's "Pseudo-terminal will not be
#   allocated" and runs on pipes; -tt and -o RequestTTY=force make one all
#   the same (24x80, stderr folded into stdout as on a terminal); input
#   that ends is the terminal's EOF character (the shell ends); -T
#   refuses one; the exit status is the program's; -t with -H is a
#   usage error.
# Speaks TAP.
set -u
. "$(dirname "$0")/tty_lib.sh"
trap tty_cleanup EXIT

tmux_start
ok $? "bash runs at a prompt in tmux (120x30)"
line "$CPR -t h1 sh -c 'stty size; tput cols; echo \"term=\$TERM\"; exit 3'"
wait_for "$STEP_S" pane_has '^term='
ok $? "cprun -t h1 sh -c ... ran"
pane_has '^30 120$'
ok $? "stty size on the host: 30 120"
pane_has '^120$'
ok $? "tput cols on the host: 120"
pane_has '^term=screen$'
ok $? "TERM travels: screen, the pane's"
wait_for "$STEP_S" no_cprun
rc_is 3 "the exit status is the program's (3)"

line "stty intr ^B; $CPR -t h1 stty -a; stty intr ^C"
wait_for "$STEP_S" pane_has 'intr = \^B'
ok $? "a local mode (intr ^B) is the remote terminal's"
wait_for "$STEP_S" no_cprun
rc_is 0 "stty on the host exits 0"
line "$CPR -t h1 top -d 1"
wait_for "$STEP_S" pane_has 'load average'
ok $? "top on a terminal draws its screen"
keys q
wait_for "$STEP_S" no_cprun
ok $? "q quits top"
rc_is 0 "top exits 0"
tmux_stop

# Without a terminal (stdin a file), as ssh.
$CPRUN -F "$CONFIG" h1 top -b -n 1 </dev/null >"$WORK/top" 2>&1
is "$?" 0 "top -b -n 1 without a terminal exits 0"
grep -q 'load average' "$WORK/top"
ok $? "... and prints its report"

out=$($CPRUN -F "$CONFIG" -t h1 sh -c 'test -t 0 && echo tty || echo pipes' </dev/null 2>"$WORK/err")
is "$out" pipes "-t without a local terminal: the program runs on pipes"
grep -q '^Pseudo-terminal will not be allocated because stdin is not a terminal.$' "$WORK/err"
ok $? "... and cprun says so, as ssh"
out=$($CPRUN -F "$CONFIG" -tt h1 sh -c 'test -t 0 && test -t 1 && test -t 2 && echo tty; stty size; echo err >&2' </dev/null 2>/dev/null)
is "$out" $'tty\r\n24 80\r\nerr\r' "-tt: a terminal all the same (24x80), stderr on it too"
out=$($CPRUN -F "$CONFIG" -o RequestTTY=force h1 sh -c 'test -t 0 && echo tty' </dev/null 2>/dev/null)
is "$out" $'tty\r' "-o RequestTTY=force: a terminal"
out=$($CPRUN -F "$CONFIG" -T -o RequestTTY=force h1 sh -c 'test -t 0 && echo tty || echo pipes' </dev/null 2>/dev/null)
is "$out" pipes "-T: no terminal, whatever RequestTTY says"
$CPRUN -F "$CONFIG" -tt h1 sh -c 'exit 7' </dev/null >/dev/null 2>&1
is "$?" 7 "-tt: the exit status is the program's (7)"
$CPRUN -F "$CONFIG" -t -H h1 true </dev/null >/dev/null 2>"$WORK/err"
is "$?" 2 "-t with -H: a usage error"
grep -q -- '-t cannot be used with -H' "$WORK/err"
ok $? "... that says so"
printf 'echo "got $((6*7))"\n' | timeout 30 $CPRUN -F "$CONFIG" -tt h1 sh >"$WORK/out" 2>&1
is "$?" 0 "-tt with input that ends: the remote shell ends (EOF character), status 0"
grep -q 'got 42' "$WORK/out"
ok $? "... having run what it read"
[ "$failed" = 0 ] || sed 's/^/#   out: /' "$WORK/out"

done_testing
