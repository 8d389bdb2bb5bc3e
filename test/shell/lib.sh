# lib.sh — what the shell-user tests (test/shell/*.sh) share: TAP output,
# bounded polling, the remote test user's processes found by a tag in
# their environment, and a private tmux server (a real pty with a bash at
# a prompt) driven by send-keys and read by capture-pane.  Sourced, not run.
#
# The test hosts are sshd on loopback, so "the host" is this machine: its
# process table and files are the remote side's.  Every remote process a
# test starts carries CPRTAG=$TAG in its environment (cprun -e), so that
# other tests running at the same time, as the same test user, are never
# mistaken for ours.

DIR=${CPREMOTE_TEST_DIR:-}
[ -n "$DIR" ] || { echo "1..0 # SKIP no test hosts (CPREMOTE_TEST_DIR; use scripts/test)"; exit 0; }
[ -n "${CPRUN:-}" ] || { echo "1..0 # SKIP CPRUN not set (run under meson test)"; exit 0; }
CONFIG=$DIR/ssh_config
# The user the hosts log in as: the ssh_config's User line (cprtest as root).
REMOTE_USER=$(sed -n 's/^[[:space:]]*User[[:space:]]\{1,\}//p' "$CONFIG" | head -1)
[ -n "$REMOTE_USER" ] || REMOTE_USER=$(id -un)
TAG=shell-$$-$RANDOM
WORK=$(mktemp -d /tmp/cpremote-shell.XXXXXX)
# The remote user writes its files here.
chmod 0777 "$WORK"

t=0 failed=0
# ok STATUS DESCRIPTION: one TAP result, passed when STATUS is 0.
ok() {
	t=$((t + 1))
	if [ "$1" = 0 ]; then
		echo "ok $t - $2"
	else
		echo "not ok $t - $2"
		failed=1
	fi
}
# is GOT WANT DESCRIPTION
is() {
	if [ "$1" = "$2" ]; then
		ok 0 "$3"
	else
		ok 1 "$3"
		printf '#   got:  %q\n#   want: %q\n' "$1" "$2"
	fi
}
diag() { printf '# %s\n' "$*"; }
# Ends the test: the plan, and 1 when anything failed.
done_testing() {
	echo "1..$t"
	exit "$failed"
}

# Milliseconds on bash's clock (EPOCHREALTIME, bash 5): for bounds only.
now_ms() {
	local t=${EPOCHREALTIME/[.,]/}
	echo $((t / 1000))
}

# wait_for SECONDS COMMAND...: runs COMMAND every 0.1 s until it succeeds;
# returns 0 then, 1 after SECONDS.
wait_for() {
	local end=$(($(now_ms) + $1 * 1000))
	shift
	while :; do
		"$@" && return 0
		[ "$(now_ms)" -lt "$end" ] || return 1
		sleep 0.1
	done
}

# tagged COMM: the pids (one a line) of the remote user's processes named
# COMM that carry our tag.
tagged() {
	local p
	for p in $(pgrep -u "$REMOTE_USER" -x "$1"); do
		tr '\0' '\n' 2>/dev/null <"/proc/$p/environ" | grep -qx "CPRTAG=$TAG" && echo "$p"
	done
}
# none_tagged COMM / some_tagged COMM: for wait_for.
none_tagged() { [ -z "$(tagged "$1")" ]; }
some_tagged() { [ -n "$(tagged "$1")" ]; }
# kill_tagged COMM...: what a failed test left on the host, by pid.
kill_tagged() {
	local c p
	for c in "$@"; do
		for p in $(tagged "$c"); do
			diag "left on the host: $c, pid $p: killed"
			kill -KILL "$p" 2>/dev/null
		done
	done
}

# The cprun processes of this test: this user's whose arguments carry the
# tag (the remote processes have it in their environment only).
our_cprun() { pgrep -u "$(id -u)" -f -- "CPRTAG=$TAG" | grep -vx "$$"; }
no_cprun() { [ -z "$(our_cprun)" ]; }
# Whether our cprun runs and is not stopped (state T in /proc/PID/stat).
cprun_running() {
	local p st
	p=$(our_cprun | head -1)
	[ -n "$p" ] || return 1
	st=$(sed 's/^.*) \(.\).*$/\1/' "/proc/$p/stat" 2>/dev/null)
	[ -n "$st" ] && [ "$st" != T ]
}
cprun_stopped() {
	local p
	p=$(our_cprun | head -1)
	[ -n "$p" ] && [ "$(sed 's/^.*) \(.\).*$/\1/' "/proc/$p/stat" 2>/dev/null)" = T ]
}

# ---- tmux: a private server (its own socket name), one window, bash at a prompt.
TMUX_SOCK=cpr-$TAG
PROMPT='CPRTEST$ '
tm() { tmux -L "$TMUX_SOCK" -f /dev/null "$@"; }
# Starts the server with a clean bash (no rc files) whose environment has
# what cprun needs; waits for its first prompt.
tmux_start() {
	command -v tmux >/dev/null 2>&1 || { echo "1..0 # SKIP tmux is not installed"; exit 0; }
	tm new-session -d -x 120 -y 30 -s t \
		env -i PATH="$PATH" HOME="${HOME:-/root}" TERM=screen \
		CPREMOTE_RELAY="${CPREMOTE_RELAY:-}" CPREMOTE_HELPER="${CPREMOTE_HELPER:-}" \
		PS1="$PROMPT" bash --norc --noprofile -i || return 1
	wait_for 10 pane_has "^CPRTEST\\$"
}
tmux_stop() { tm kill-server 2>/dev/null; }
# The pane's text (with its scrollback).
pane() { tm capture-pane -p -J -t t -S -200; }
# pane_has REGEX: whether a line of the pane matches (grep -E).
pane_has() { pane | grep -qE -- "$1"; }
# keys ARGS...: as tmux send-keys (a literal string, or key names like Enter, C-z).
keys() { tm send-keys -t t "$@"; }
# line TEXT: types TEXT and Enter.
line() { tm send-keys -t t -l -- "$1" && tm send-keys -t t Enter; }
dump_pane() {
	diag "---- the pane:"
	pane | sed -e '/^$/d' -e 's/^/#   /'
}
