#!/usr/bin/env bash
# test_flags.sh — cprun's options as an OpenSSH user types them (issue 10),
# each against the real sshd test hosts:
#   --chdir DIR         the working directory (the old -C DIR)
#   -C                  compression, as ssh -C: zlib is negotiated (-vvv)
#   -q                  no summary, no notes (-H, and a signal ending the
#                       wait); a fatal error is still said
#   -n                  stdin is /dev/null
#   -V, -h              version and usage on stdout, exit 0
#   -4, -6, -J X        exactly -o AddressFamily=inet|inet6, -o ProxyJump=X
#   ssh://[u@]h[:p]     user and port from the URI, -l and -p win, no path
#   -F missing          exit 255 naming the file, as ssh; so for a missing
#                       $CPREMOTE_SSH_CONFIG, which is the default -F;
#                       -F none reads no file, as ssh -F none
#   --helper '~/...'    the host's home, also ~USER/
#   -b without -H       a usage error
# Each cprun runs under timeout(1) with stdin from /dev/null unless the
# check is about stdin.  Speaks TAP.
set -u
. "$(dirname "$0")/../shell/lib.sh"

HELPER_DIR=.cprtest-cli-$$-$RANDOM
cleanup() {
	"$CPRUN" -F "$CONFIG" h1 rm -rf "$HELPER_DIR" </dev/null >/dev/null 2>&1
	kill_tagged sleep
	rm -rf "$WORK"
}
trap cleanup EXIT

# c ARGS...: runs cprun with ARGS (the hosts' config given by $CFG, else -F
# $CONFIG); sets OUT, ERR and RC.
c() {
	timeout -k 5 60 "$CPRUN" "$@" >"$WORK/out" 2>"$WORK/err"
	RC=$?
	OUT=$(cat "$WORK/out")
	ERR=$(cat "$WORK/err")
}
# has TEXT PATTERN DESCRIPTION: TEXT contains PATTERN (a fixed string).
has() {
	if printf '%s' "$1" | grep -qF -- "$2"; then ok 0 "$3"; else
		ok 1 "$3"
		diag "no \"$2\" in: $1"
	fi
}

# --- --chdir, and -C no longer taking an argument
c -F "$CONFIG" --chdir /tmp h1 pwd </dev/null
is "$RC:$OUT" "0:/tmp" "--chdir DIR sets the working directory on the host"
c -F "$CONFIG" -C h1 echo compressed </dev/null
is "$RC:$OUT" "0:compressed" "-C takes no argument (compression, as ssh -C)"

# --- -C negotiates compression: libssh's -vvv line names the methods
c -vvv -F "$CONFIG" -C h2 true </dev/null
has "$(printf '%s\n' "$ERR" | grep Negotiated)" "zlib" "-C: zlib compression is negotiated"
c -vvv -F "$CONFIG" h2 true </dev/null
neg=$(printf '%s\n' "$ERR" | grep Negotiated)
ok $([ -n "$neg" ] && ! printf '%s' "$neg" | grep -q zlib; echo $?) "without -C: no compression"

# --- -q
c -F "$CONFIG" -H h1,h2 true </dev/null
has "$ERR" "hosts succeeded" "-H ends with a summary"
c -q -F "$CONFIG" -H h1,h2 true </dev/null
is "$RC:$ERR" "0:" "-q -H: no summary"
c -q -F "$CONFIG" h1 /nonexistent/program </dev/null
ok $([ "$RC" = 127 ] && [ -n "$ERR" ]; echo $?) "-q still says why cprun failed (exit $RC: $ERR)"

# -q in one host's mode: the note when a signal ends the wait for what the
# program left behind (sleep holds its stdout) is left out; the status stays.
drain() { # drain FLAGS...: cprun FLAGS h1 with a leftover sleep, SIGINT during the drain; sets RC, ERR
	"$CPRUN" "$@" -F "$CONFIG" -e "CPRTAG=$TAG" h1 sh -c 'sleep 30 & exit 3' \
		</dev/null >"$WORK/out" 2>"$WORK/err" &
	local pid=$! i
	# The signal must come during the drain: once the remote sleep runs (its
	# sh exits right after), not at a fixed time (a slow start under load).
	wait_for 30 some_tagged sleep
	# cprun learns of the exit a moment after the sh is gone (later under
	# ASan or valgrind); a SIGINT before that is forwarded to the exited
	# program and the wait goes on, so it is sent again until cprun ends,
	# for at most 20 s (the sleep it waits for lasts 30).
	for ((i = 0; i < 40; i++)); do
		kill -INT "$pid" 2>/dev/null || break
		sleep 0.5
	done
	kill -KILL "$pid" 2>/dev/null
	wait "$pid"
	RC=$?
	ERR=$(cat "$WORK/err")
}
drain
ok $([ "$RC" = 130 ] && [ -n "$ERR" ]; echo $?) "without -q: SIGINT ends the wait with a note (exit $RC)"
# The first run's sleep must be gone, or the next wait for one ends at once.
wait_for 10 none_tagged sleep || kill_tagged sleep
drain -q
is "$RC:$ERR" "130:" "-q: the same end, without the note"
wait_for 10 none_tagged sleep || kill_tagged sleep

# --- -n
c -F "$CONFIG" h1 cat <<<"typed"
is "$RC:$OUT" "0:typed" "without -n, stdin reaches the program"
c -F "$CONFIG" -n h1 cat <<<"typed"
is "$RC:$OUT" "0:" "-n: stdin is /dev/null"

# --- -V, -h
c -V
ok $([ "$RC" = 0 ] && [[ "$OUT" =~ ^cprun\ [0-9]+\.[0-9]+\.[0-9]+$ ]]; echo $?) "-V prints the version ($OUT)"
c -h
ok $([ "$RC" = 0 ] && [[ "$OUT" == usage:* ]]; echo $?) "-h prints the usage on stdout, exit 0"
has "$OUT" "--chdir DIR" "the usage names --chdir"

# --- -4, -6, -J: the same as the -o they stand for, whatever the relay makes of it
same_as() { # same_as DESCRIPTION FLAGS -- OPTION
	local desc=$1 a b
	c -F "$CONFIG" $2 h1 echo same </dev/null
	a="$RC|$OUT|$ERR"
	c -F "$CONFIG" -o "$3" h1 echo same </dev/null
	b="$RC|$OUT|$ERR"
	is "$a" "$b" "$desc"
}
same_as "-4 is -o AddressFamily=inet" "-4" "AddressFamily=inet"
same_as "-6 is -o AddressFamily=inet6" "-6" "AddressFamily=inet6"
same_as "-J h2 is -o ProxyJump=h2" "-J h2" "ProxyJump=h2"
# The hosts have IPv4 addresses only: -4 reaches them, -6 cannot.
c -F "$CONFIG" -4 h1 echo v4 </dev/null
is "$RC:$OUT" "0:v4" "-4: an IPv4 host is reached"
c -F "$CONFIG" -6 h1 true </dev/null
ok $([ "$RC" = 255 ] && printf '%s' "$ERR" | grep -q inet6; echo $?) "-6: an IPv4-only host is refused, saying why ($ERR)"

# --- ssh:// destinations
c -F "$CONFIG" "ssh://$REMOTE_USER@h1:$CPREMOTE_TEST_PORT" sh -c 'echo "$USER"' </dev/null
is "$RC:$OUT" "0:$REMOTE_USER" "ssh://USER@HOST:PORT runs as USER"
# The user percent-decoded: its first letter written %XX.
enc=$(printf '%%%02X' "'${REMOTE_USER:0:1}")${REMOTE_USER:1}
c -F "$CONFIG" "ssh://$enc@h1" sh -c 'echo "$USER"' </dev/null
is "$RC:$OUT" "0:$REMOTE_USER" "ssh://$enc@h1: the user is percent-decoded"
c -F "$CONFIG" "ssh://h1:1" true </dev/null
ok $([ "$RC" = 255 ] && printf '%s' "$ERR" | grep -q "refused"; echo $?) "ssh://h1:1: the URI's port is used (exit $RC: $ERR)"
c -F "$CONFIG" -p "$CPREMOTE_TEST_PORT" "ssh://h1:1" echo p-wins </dev/null
is "$RC:$OUT" "0:p-wins" "-p wins over the URI's port, as with ssh"
c -F "$CONFIG" "ssh://h1/tmp" true </dev/null
ok $([ "$RC" = 2 ] && printf '%s' "$ERR" | grep -q "no path"; echo $?) "an ssh:// path is refused (exit $RC: $ERR)"
c -F "$CONFIG" -H "h1,ssh://h2:$CPREMOTE_TEST_PORT" echo multi </dev/null
is "$RC:$(sort <<<"$OUT")" "0:h1: multi"$'\n'"ssh://h2:$CPREMOTE_TEST_PORT: multi" "-H takes ssh:// destinations"
c -F "$CONFIG" -H "h1,ssh://h2/x" true </dev/null
is "$RC" 2 "-H: a bad ssh:// destination is a usage error before anything runs"

# --- -F that does not exist; CPREMOTE_SSH_CONFIG as the default -F
c -F "$WORK/no-such-config" h1 true </dev/null
ok $([ "$RC" = 255 ] && printf '%s' "$ERR" | grep -qF "$WORK/no-such-config"; echo $?) \
	"-F MISSING: exit 255 naming the file (exit $RC: $ERR)"
CPREMOTE_SSH_CONFIG=$CONFIG c h1 echo from-env </dev/null
is "$RC:$OUT" "0:from-env" "\$CPREMOTE_SSH_CONFIG is the default -F"
CPREMOTE_SSH_CONFIG=$WORK/no-such-config c h1 true </dev/null
ok $([ "$RC" = 255 ] && printf '%s' "$ERR" | grep -qF "$WORK/no-such-config"; echo $?) \
	"a missing \$CPREMOTE_SSH_CONFIG: exit 255 naming it"
CPREMOTE_SSH_CONFIG=$WORK/no-such-config c -F "$CONFIG" h1 echo f-wins </dev/null
is "$RC:$OUT" "0:f-wins" "-F wins over \$CPREMOTE_SSH_CONFIG"

# -F none: no config at all, as ssh -F none; the destination then is an address.
HOST1=$(sed -n '/^Host h1$/,/^Host /s/^[[:space:]]*HostName[[:space:]]*//p' "$CONFIG" | head -1)
c -F none -l "$REMOTE_USER" -p "$CPREMOTE_TEST_PORT" -i "$DIR/id_ed25519" \
	-o "UserKnownHostsFile=$DIR/known_hosts" "$HOST1" echo no-config </dev/null
is "$RC:$OUT" "0:no-config" "-F none: no file is read, and none is refused as missing"
CPREMOTE_SSH_CONFIG=$CONFIG c -F none h1 true </dev/null
ok $([ "$RC" = 255 ]; echo $?) "-F none wins over \$CPREMOTE_SSH_CONFIG (h1 is no name then: exit $RC)"

# --- --helper '~/...': the build's helper copied into the remote home
c -F "$CONFIG" h1 sh -c "mkdir -p ~/$HELPER_DIR && cat >~/$HELPER_DIR/helper && chmod 700 ~/$HELPER_DIR/helper" \
	<"$CPREMOTE_HELPER"
is "$RC" 0 "the helper copied to ~/$HELPER_DIR on h1"
# A host of its own (h3), so that no connection with another helper is reused.
c -F "$CONFIG" --helper "~/$HELPER_DIR/helper" h3 echo tilde </dev/null
is "$RC:$OUT" "0:tilde" "--helper '~/...' is the remote home (the hosts share it)"
c -F "$CONFIG" --helper "~$REMOTE_USER/$HELPER_DIR/helper" h4 echo tilde-user </dev/null
is "$RC:$OUT" "0:tilde-user" "--helper '~USER/...' is USER's home there"

# --- -b needs -H
c -F "$CONFIG" -b h1 true </dev/null
is "$RC" 2 "-b without -H is a usage error"

done_testing
