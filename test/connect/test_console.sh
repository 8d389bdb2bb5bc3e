#!/usr/bin/env bash
# test_console.sh — cprun --connect on a real terminal (a pty of a private
# tmux server): lines are edited locally with libedit, so the up arrow
# recalls history and backspace edits it before the server sees a byte.
#   console_server DIR runs on h1 (started by cprun, in the background)
#   cprun --connect h1:DIR/console.sock   at a bash prompt in tmux
#   set x 41, get x                       the pane shows 41
#   Up, Up, BSpace, 7, Enter              sends "set x 47" (recalled, edited)
#   get x                                 the pane shows 47
#   Ctrl-D                                the server closes; cprun exits 0
#   then against socat serving "sleep 3; echo tick; cat": "half" is typed
#   before tick comes; tick is shown above the line, "half" stays on it,
#   and " done", Enter sends "half done" (cat echoes it).
# Without local editing the server would get the arrow keys' escape bytes
# and answer "unknown command".  Speaks TAP.
set -u
. "$(dirname "$0")/../shell/lib.sh"

SERVER=$CPREMOTE_TEST_BUILD/connect/console_server
SOCKDIR=/tmp/cpr-console-$TAG
STEP_S=15
cleanup() {
	[ -n "${SERVER_PID:-}" ] && kill -TERM "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID"
	tmux_stop
	[ -n "${SOCAT_PID:-}" ] && kill -TERM "$SOCAT_PID" 2>/dev/null && wait "$SOCAT_PID"
	kill_tagged console_server socat
	rm -rf "$WORK"
}
trap cleanup EXIT

# The server's cprun is this script's child, outside tmux.
"$CPRUN" -F "$CONFIG" -e CPRTAG="$TAG" h1 "$SERVER" "$SOCKDIR" </dev/null >"$WORK/server.out" 2>&1 &
SERVER_PID=$!
wait_for "$STEP_S" test -S "$SOCKDIR/console.sock"
ok $? "the console server listens on h1"

tmux_start
ok $? "bash runs at a prompt in tmux"
line "$CPRUN -F $CONFIG --connect h1:$SOCKDIR/console.sock; echo status=\$?"
wait_for "$STEP_S" pane_has 'type help'
ok $? "cprun --connect: the server's greeting"
line "set x 41"
wait_for "$STEP_S" pane_has '^ok$'
ok $? "set x 41: ok"
line "get x"
wait_for "$STEP_S" pane_has '^41$'
ok $? "get x: 41"
keys Up
keys Up
keys BSpace
keys -l 7
keys Enter
wait_for "$STEP_S" pane_has '^> set x 47$'
ok $? "Up, Up recalls \"set x 41\", edited locally into \"set x 47\""
line "get x"
wait_for "$STEP_S" pane_has '^47$'
ok $? "the server got the edited line: get x says 47"
pane_has 'unknown command'
ok $((!$?)) "no escape bytes reached the server"
keys C-d
wait_for "$STEP_S" pane_has '^status=0$'
ok $? "Ctrl-D ends the input; the server closes; cprun exits 0"

# Output that arrives while a line is being typed: shown above it, the typed text kept.
"$CPRUN" -F "$CONFIG" -e CPRTAG="$TAG" h1 socat "UNIX-LISTEN:$SOCKDIR.tick,fork" \
	"SYSTEM:sleep 3; echo tick; cat" </dev/null >"$WORK/socat.out" 2>&1 &
SOCAT_PID=$!
wait_for "$STEP_S" test -S "$SOCKDIR.tick"
ok $? "socat serves a slow line server on h1"
line "clear; $CPRUN -F $CONFIG --connect h1:$SOCKDIR.tick; echo status=\$?"
sleep 0.5
keys -l half
wait_for "$STEP_S" pane_has '^tick$'
ok $? "the server's output came while a line was being typed"
keys -l " done"
keys Enter
wait_for "$STEP_S" pane_has '^half done$'
ok $? "the typed text was kept under it: \"half done\" sent whole"
pane | grep -A1 '^tick$' | tail -1 | grep -q '^half done$'
ok $? "the line being typed is shown below the output"
keys C-d
wait_for "$STEP_S" pane_has '^status=0$'
ok $? "Ctrl-D: cat ends, socat closes, cprun exits 0"
rm -f "$SOCKDIR.tick"
[ "$failed" = 0 ] || { dump_pane; diag "server: $(cat "$WORK/server.out")"; }
done_testing
