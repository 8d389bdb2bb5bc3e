# tty_lib.sh — what the terminal tests (test/tty/*.sh, issue 11) add to
# the shell tests' lib.sh: cprun's command line for the tmux pane, the
# pane's exit status, the terminal's modes compared before and after.
# Sourced, not run.
. "$(dirname "$0")/../shell/lib.sh"

STEP_S=15
# The cprun command line typed into the pane; its args carry the tag (our_cprun).
CPR="$CPRUN -F $CONFIG -e CPRTAG=$TAG"

tty_cleanup() {
	local p
	for p in $(our_cprun); do
		diag "cprun still runs (pid $p): killed"
		kill -KILL "$p" 2>/dev/null
	done
	tmux_stop
	kill_tagged python3 bash sh cat sleep
	rm -rf "$WORK"
}

# last_rc: the status the pane's bash printed last as "rc=N" (after `echo rc=$?`).
last_rc() { pane | sed -n 's/^rc=\([0-9]*\)$/\1/p' | tail -1; }
# rc_is N DESCRIPTION: asks the pane's bash for $? and checks it.
rc_is() {
	line 'echo "rc=$?"'
	wait_for "$STEP_S" pane_has '^rc=[0-9]+$'
	is "$(last_rc)" "$1" "$2"
	keys C-l
	tm clear-history -t t
}
# modes_saved FILE: the pane's terminal modes (stty -a) into FILE, once written.
modes_saved() {
	rm -f "$1"
	line "stty -a > $1"
	wait_for "$STEP_S" test -s "$1"
}
