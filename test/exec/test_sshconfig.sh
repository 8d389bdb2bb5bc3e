#!/usr/bin/env bash
# test_sshconfig.sh — the ssh_config is evaluated once, the same for a file
# and for -o (relay/sshkw.c): each keyword is tried in both forms against
# the test hosts, and where ssh is the reference, ssh runs on the same
# set-up.  ConnectTimeout against a silent listener (a socket that never
# accepts), ServerAlive* against a stopped sshd session (SIGSTOP),
# ConnectionAttempts against a closed port, SendEnv/SetEnv against the
# hosts' AcceptEnv, HostKeyAlias, two UserKnownHostsFile files,
# HashKnownHosts with --accept-new, AddressFamily, BindAddress, ProxyCommand, Match
# originalhost and Match user with -l, ControlPersist, LogLevel, a refused
# and a warned keyword (the same message from both forms), and the
# fallback to libssh's parser without the OpenSSH client.  Speaks TAP.
set -u

DIR=${CPREMOTE_TEST_DIR:-}
[ -n "$DIR" ] || { echo "1..0 # SKIP no test hosts (CPREMOTE_TEST_DIR)"; exit 0; }
[ -n "${CPRUN:-}" ] || { echo "1..0 # SKIP CPRUN not set"; exit 0; }
command -v ssh >/dev/null || { echo "1..0 # SKIP no OpenSSH client"; exit 0; }

WORK=$(mktemp -d /tmp/cpremote-sshconfig.XXXXXX)
chmod 0755 "$WORK"
PIDS=
cleanup() {
	# shellcheck disable=SC2086
	[ -z "$PIDS" ] || kill -CONT $PIDS 2>/dev/null
	# shellcheck disable=SC2086
	[ -z "$PIDS" ] || kill $PIDS 2>/dev/null
	rm -rf "$WORK"
}
trap cleanup EXIT

t=0 failed=0
ok() { # ok STATUS DESCRIPTION
	t=$((t + 1))
	if [ "$1" = 0 ]; then echo "ok $t - $2"; else echo "not ok $t - $2"; failed=1; fi
}
is() { # is GOT WANT DESCRIPTION
	[ "$1" = "$2" ]
	ok $? "$3"
	[ "$1" = "$2" ] || printf '#   got  "%s"\n#   want "%s"\n' "$1" "$2"
}
diag() { printf '#   %s\n' "$@"; }
now() { date +%s.%N; }
# within SECONDS LOW HIGH: LOW <= SECONDS <= HIGH
within() { awk -v s="$1" -v lo="$2" -v hi="$3" 'BEGIN { exit !(s >= lo && s <= hi) }'; }

# h1's lines in the hosts' ssh_config (HostName, Port, User, keys, known_hosts).
H1_BODY=$(sed -n '/^Host h1$/,/^$/p' "$DIR/ssh_config" | sed '1d;/^$/d')
H1_ADDR=$(printf '%s\n' "$H1_BODY" | sed -n 's/^[[:space:]]*HostName[[:space:]]*//p')
H1_PORT=$(printf '%s\n' "$H1_BODY" | sed -n 's/^[[:space:]]*Port[[:space:]]*//p')
REMOTE_USER=$(printf '%s\n' "$H1_BODY" | sed -n 's/^[[:space:]]*User[[:space:]]\{1,\}//p' | head -1)

# cfg NAME LINE...: writes $WORK/NAME.cfg, "Host NAME" with LINE... first
# (the first value wins), then h1's lines; prints its path.
cfg() {
	local name=$1 f=$WORK/$1.cfg
	shift
	{
		echo "Host $name"
		for l in "$@"; do printf '\t%s\n' "$l"; done
		printf '%s\n' "$H1_BODY"
	} >"$f"
	echo "$f"
}
BASE=$(cfg base)

# run OUT ERR CMD...: runs CMD with stdin from /dev/null, 60 s at most;
# sets RC and SECS.
run() {
	local out=$1 err=$2 t0
	shift 2
	t0=$(now)
	timeout 60 "$@" >"$out" 2>"$err" </dev/null
	RC=$?
	SECS=$(awk -v a="$t0" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }')
}

# --- ConnectTimeout: a listener that never accepts, so no banner comes.
LISTEN_ADDR=127.0.0.77
python3 -c '
import socket, sys, time
s = socket.socket()
s.bind((sys.argv[1], 0))
s.listen(64)
print(s.getsockname()[1], flush=True)
time.sleep(300)' "$LISTEN_ADDR" >"$WORK/silent.port" &
PIDS="$PIDS $!"
for _ in $(seq 50); do [ -s "$WORK/silent.port" ] && break; sleep 0.1; done
SILENT_PORT=$(cat "$WORK/silent.port")
silent() { cfg silent "HostName $LISTEN_ADDR" "Port $SILENT_PORT" "$@"; }
f=$(silent "ConnectTimeout 2")
run "$WORK/o" "$WORK/e" "$CPRUN" -F "$f" silent true
diag "file: exit $RC after $SECS s: $(cat "$WORK/e")"
is "$RC" 255 "ConnectTimeout in the file: cprun fails (silent listener)"
within "$SECS" 1.5 6
ok $? "ConnectTimeout 2 in the file: cprun gives up after about 2 s (took $SECS s)"
f=$(silent)
run "$WORK/o" "$WORK/e" "$CPRUN" -F "$f" -o ConnectTimeout=2 silent true
within "$SECS" 1.5 6
ok $? "-o ConnectTimeout=2: cprun gives up after about 2 s (took $SECS s)"
f=$(silent "ConnectTimeout 2")
run "$WORK/o" "$WORK/e" ssh -F "$f" silent true
within "$SECS" 1.5 6
ok $? "ssh, the reference: gives up after about 2 s too (took $SECS s, exit $RC)"

# --- ConnectionAttempts: a closed port refuses at once; 3 attempts, a second apart.
CLOSED_PORT=$(python3 -c 'import socket,sys; s=socket.socket(); s.bind((sys.argv[1],0)); print(s.getsockname()[1])' "$H1_ADDR")
f=$(cfg closed "Port $CLOSED_PORT" "ConnectionAttempts 3")
run "$WORK/o" "$WORK/e" "$CPRUN" -F "$f" closed true
diag "exit $RC after $SECS s: $(cat "$WORK/e")"
is "$RC" 255 "ConnectionAttempts 3 in the file: a refused port still fails"
within "$SECS" 1.7 6
ok $? "ConnectionAttempts 3 in the file: three tries a second apart (took $SECS s)"
f=$(cfg closed "Port $CLOSED_PORT")
run "$WORK/o" "$WORK/e" "$CPRUN" -F "$f" -o ConnectionAttempts=3 closed true
within "$SECS" 1.7 6
ok $? "-o ConnectionAttempts=3: three tries (took $SECS s)"
run "$WORK/o" "$WORK/e" "$CPRUN" -F "$f" closed true
within "$SECS" 0 1.5
ok $? "without it: one try (took $SECS s)"
f=$(cfg closed "Port $CLOSED_PORT" "ConnectionAttempts 3")
run "$WORK/o" "$WORK/e" ssh -F "$f" closed true
within "$SECS" 1.7 6
ok $? "ssh, the reference: three tries too (took $SECS s)"

# --- ServerAlive*: the session's sshd stopped; found within interval * (count + 1).
# frozen CMD...: starts CMD (whose program prints the pid of its sshd),
# stops that sshd, and sets SECS to the time CMD took to end after it.
frozen() {
	local pid=0 t0 spid
	"$@" >"$WORK/fz.out" 2>"$WORK/fz.err" </dev/null &
	pid=$!
	for _ in $(seq 300); do [ -s "$WORK/fz.out" ] && break; sleep 0.1; done
	spid=$(head -1 "$WORK/fz.out")
	case $spid in '' | *[!0-9]*) SECS=-1; diag "no pid within 30 s: $(tail -2 "$WORK/fz.err")"; kill "$pid"; return ;; esac
	[ "$(cat "/proc/$spid/comm" 2>/dev/null)" = sshd ] || diag "pid $spid is $(cat "/proc/$spid/comm" 2>/dev/null)"
	PIDS="$PIDS $spid"
	t0=$(now)
	kill -STOP "$spid"
	for _ in $(seq 300); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	SECS=$(awk -v a="$t0" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }')
	kill "$pid" 2>/dev/null
	wait "$pid"
	RC=$?
	kill -CONT "$spid"
}
# The helper's parent is the session's sshd (the stub execs the helper).
SSHD_OF_HELPER='awk "{ print \$4 }" /proc/$PPID/stat; exec sleep 60'
f=$(cfg alive "ServerAliveInterval 1" "ServerAliveCountMax 2")
frozen "$CPRUN" -F "$f" alive sh -c "$SSHD_OF_HELPER"
diag "file: ended $SECS s after the stop, exit $RC: $(tail -1 "$WORK/fz.err")"
within "$SECS" 0.5 8
ok $? "ServerAliveInterval 1, ServerAliveCountMax 2 in the file: a frozen session is found (took $SECS s; the default is 20 s)"
frozen "$CPRUN" -F "$BASE" -o ServerAliveInterval=1 -o ServerAliveCountMax=2 base sh -c "$SSHD_OF_HELPER"
within "$SECS" 0.5 8
ok $? "the same with -o (took $SECS s)"
frozen ssh -F "$f" alive 'echo $PPID; exec sleep 60'
within "$SECS" 0.5 8
ok $? "ssh, the reference: finds it as fast (took $SECS s)"

# --- SendEnv and SetEnv, as the hosts' AcceptEnv lets them in (CPRTEST_OK_*).
ENV_PROG='env | grep ^CPRTEST_ | sort'
WANT=$(printf 'CPRTEST_OK_SENT=sent\nCPRTEST_OK_SET=set')
f=$(cfg envs "SendEnv CPRTEST_*" "SetEnv CPRTEST_OK_SET=set CPRTEST_REFUSED_SET=no")
export CPRTEST_OK_SENT=sent CPRTEST_REFUSED_SENT=no
run "$WORK/o" "$WORK/e" "$CPRUN" -F "$f" envs sh -c "$ENV_PROG"
is "$(cat "$WORK/o")" "$WANT" "SendEnv and SetEnv in the file: the accepted variables arrive, the others not"
is "$RC" 0 "SendEnv and SetEnv in the file: a variable sshd refuses does not fail the run"
run "$WORK/o" "$WORK/e" "$CPRUN" -F "$BASE" -o "SendEnv=CPRTEST_*" -o "SetEnv=CPRTEST_OK_SET=set CPRTEST_REFUSED_SET=no" base sh -c "$ENV_PROG"
is "$(cat "$WORK/o")" "$WANT" "the same with -o SendEnv, -o SetEnv"
run "$WORK/o" "$WORK/e" ssh -F "$f" envs "$ENV_PROG"
is "$(cat "$WORK/o")" "$WANT" "ssh, the reference: the same variables"
unset CPRTEST_OK_SENT CPRTEST_REFUSED_SENT

# --- Debian's /etc/ssh/ssh_config sends LANG and LC_*: so does cprun when it is read.
if grep -qs '^[[:space:]]*SendEnv[[:space:]].*LANG' /etc/ssh/ssh_config; then
	f=$WORK/debian.cfg
	{ cfg debian >/dev/null; cat "$WORK/debian.cfg"; echo "Include /etc/ssh/ssh_config"; } >"$WORK/d.tmp"
	mv "$WORK/d.tmp" "$f"
	run "$WORK/o" "$WORK/e" env LANG=C.UTF-8 LC_TIME=C "$CPRUN" -F "$f" debian sh -c 'echo "$LANG $LC_TIME"'
	is "$(cat "$WORK/o")" "C.UTF-8 C" "Debian's SendEnv LANG LC_* (the system file included): LANG and LC_TIME arrive"
	run "$WORK/o" "$WORK/e" env LANG=C.UTF-8 LC_TIME=C ssh -F "$f" debian 'echo "$LANG $LC_TIME"'
	is "$(cat "$WORK/o")" "C.UTF-8 C" "ssh, the reference: the same"
else
	ok 0 "# SKIP /etc/ssh/ssh_config does not send LANG"
fi

# --- HostKeyAlias: h1's key recorded under another name only.
KEY=$(sed -n "1s/^[^ ]* //p" "$DIR/known_hosts")
echo "h1-alias $KEY" >"$WORK/kh.alias"
f=$(cfg alias "HostKeyAlias h1-alias" "UserKnownHostsFile $WORK/kh.alias")
run "$WORK/o" "$WORK/e" "$CPRUN" -F "$f" alias echo fine
is "$(cat "$WORK/o")" fine "HostKeyAlias in the file: the key is found under the alias"
run "$WORK/o" "$WORK/e" "$CPRUN" -F "$BASE" -o HostKeyAlias=h1-alias -o "UserKnownHostsFile=$WORK/kh.alias" base echo fine
is "$(cat "$WORK/o")" fine "-o HostKeyAlias: the same"
run "$WORK/o" "$WORK/e" "$CPRUN" -F "$BASE" -o "UserKnownHostsFile=$WORK/kh.alias" base echo fine
is "$RC" 255 "without HostKeyAlias that file does not know the host"
run "$WORK/o" "$WORK/e" ssh -F "$f" alias echo fine
is "$(cat "$WORK/o")" fine "ssh, the reference: finds it under the alias too"

# --- Two UserKnownHostsFile files: the key is in the second.
: >"$WORK/kh.empty"
f=$(cfg two "UserKnownHostsFile $WORK/kh.empty $DIR/known_hosts")
run "$WORK/o" "$WORK/e" "$CPRUN" -F "$f" two echo fine
is "$(cat "$WORK/o")" fine "two UserKnownHostsFile files in the file: the second one vouches"
run "$WORK/o" "$WORK/e" "$CPRUN" -F "$BASE" -o "UserKnownHostsFile=$WORK/kh.empty $DIR/known_hosts" base echo fine
is "$(cat "$WORK/o")" fine "the same with -o"
run "$WORK/o" "$WORK/e" ssh -F "$f" two echo fine
is "$(cat "$WORK/o")" fine "ssh, the reference: the same"

# --- HashKnownHosts with --accept-new: the entry is hashed, and ssh accepts it.
for form in file option; do
	rm -f "$WORK/kh.hashed"
	if [ $form = file ]; then
		f=$(cfg hashed "HashKnownHosts yes" "UserKnownHostsFile $WORK/kh.hashed")
		run "$WORK/o" "$WORK/e" "$CPRUN" --accept-new -F "$f" hashed true
	else
		run "$WORK/o" "$WORK/e" "$CPRUN" --accept-new -F "$BASE" -o HashKnownHosts=yes -o "UserKnownHostsFile=$WORK/kh.hashed" base true
	fi
	grep -q '^|1|[^ ]* ssh-ed25519 ' "$WORK/kh.hashed"
	ok $? "HashKnownHosts ($form): --accept-new records the name hashed"
	grep -q "$H1_ADDR" "$WORK/kh.hashed"
	[ $? != 0 ]
	ok $? "HashKnownHosts ($form): the address is not in the file"
	f=$(cfg hashed "UserKnownHostsFile $WORK/kh.hashed")
	run "$WORK/o" "$WORK/e" ssh -F "$f" hashed echo fine
	is "$(cat "$WORK/o")" fine "HashKnownHosts ($form): ssh finds the host in that entry"
done

# --- AddressFamily: inet6 cannot reach an IPv4 address; inet can.
f=$(cfg fam6 "AddressFamily inet6")
run "$WORK/o" "$WORK/e" "$CPRUN" -F "$f" fam6 true
is "$RC" 255 "AddressFamily inet6 in the file: an IPv4 address is not used"
grep -q "AddressFamily inet6" "$WORK/e"
ok $? "AddressFamily inet6: the message names it ($(cat "$WORK/e"))"
run "$WORK/o" "$WORK/e" "$CPRUN" -F "$BASE" -o AddressFamily=inet6 base true
is "$RC" 255 "-o AddressFamily=inet6: the same"
run "$WORK/o" "$WORK/e" ssh -F "$f" fam6 true
is "$RC" 255 "ssh, the reference: fails too"
run "$WORK/o" "$WORK/e" "$CPRUN" -F "$BASE" -o AddressFamily=inet base echo fine
is "$(cat "$WORK/o")" fine "-o AddressFamily=inet: connects"

# --- BindAddress: the server sees the connection come from that address.
CLIENT_PROG='echo "${SSH_CLIENT%% *}"'
f=$(cfg bind "BindAddress 127.0.0.9")
run "$WORK/o" "$WORK/e" "$CPRUN" -F "$f" bind sh -c "$CLIENT_PROG"
is "$(cat "$WORK/o")" 127.0.0.9 "BindAddress in the file: the connection comes from it"
run "$WORK/o" "$WORK/e" "$CPRUN" -F "$BASE" -o BindAddress=127.0.0.9 base sh -c "$CLIENT_PROG"
is "$(cat "$WORK/o")" 127.0.0.9 "-o BindAddress: the same"
run "$WORK/o" "$WORK/e" ssh -F "$f" bind "$CLIENT_PROG"
is "$(cat "$WORK/o")" 127.0.0.9 "ssh, the reference: the same"

# --- Match originalhost and Match user (with -l): the HostName comes from the Match block.
{
	echo "Match originalhost matched user $REMOTE_USER"
	echo "	HostName $H1_ADDR"
	echo "Host matched"
	printf '%s\n' "$H1_BODY" | grep -v -e '^[[:space:]]*HostName ' -e '^[[:space:]]*User '
} >"$WORK/match.cfg"
run "$WORK/o" "$WORK/e" "$CPRUN" -F "$WORK/match.cfg" -l "$REMOTE_USER" matched echo fine
is "$(cat "$WORK/o")" fine "Match originalhost and user with -l: the block applies"
run "$WORK/o" "$WORK/e" "$CPRUN" -F "$WORK/match.cfg" -l nosuchuser matched echo fine
is "$RC" 255 "Match user with another -l: the block does not apply"
run "$WORK/o" "$WORK/e" ssh -F "$WORK/match.cfg" -l "$REMOTE_USER" matched echo fine
is "$(cat "$WORK/o")" fine "ssh, the reference: the block applies"

# --- ProxyCommand: the connection carried by socat; %h and %p are libssh's to expand.
f=$(cfg proxied "ProxyCommand socat - TCP:%h:%p")
run "$WORK/o" "$WORK/e" "$CPRUN" -F "$f" proxied echo fine
is "$(cat "$WORK/o")" fine "ProxyCommand in the file: connects through it"
run "$WORK/o" "$WORK/e" "$CPRUN" -F "$BASE" -o "ProxyCommand=socat - TCP:%h:%p" base echo fine
is "$(cat "$WORK/o")" fine "-o ProxyCommand: the same"
run "$WORK/o" "$WORK/e" "$CPRUN" -F "$BASE" -o "ProxyCommand=false" base echo fine
is "$RC" 255 "-o ProxyCommand=false: not connected (the command is used)"

# --- A refused keyword: the same message from the file and from -o.
f=$(cfg refused "RemoteCommand /bin/true")
run "$WORK/o" "$WORK/e.file" "$CPRUN" -F "$f" refused true
RC_FILE=$RC
run "$WORK/o" "$WORK/e.opt" "$CPRUN" -F "$BASE" -o "RemoteCommand=/bin/true" base true
diag "$(cat "$WORK/e.file")"
is "$RC_FILE" 2 "RemoteCommand in the file: refused (exit 2)"
is "$RC" 2 "-o RemoteCommand: refused (exit 2)"
is "$(sed 's/refused: /X: /;s/base: /X: /' "$WORK/e.opt")" "$(sed 's/refused: /X: /' "$WORK/e.file")" \
	"the same message from the file and from -o"
grep -q "RemoteCommand /bin/true cannot be honoured" "$WORK/e.file"
ok $? "the message names the keyword and its value"

# --- A warned keyword: the same warning; LogLevel QUIET silences it.
f=$(cfg warned "ForwardAgent yes")
run "$WORK/o" "$WORK/e.file" "$CPRUN" -F "$f" warned echo fine
is "$(cat "$WORK/o")" fine "ForwardAgent yes in the file: the program runs"
run "$WORK/o" "$WORK/e.opt" "$CPRUN" -F "$BASE" -o ForwardAgent=yes base echo fine
grep -q "ForwardAgent yes: ignored: the agent is not forwarded" "$WORK/e.file"
ok $? "ForwardAgent yes in the file: a warning says it is ignored"
is "$(sed 's/base: /X: /' "$WORK/e.opt")" "$(sed 's/warned: /X: /' "$WORK/e.file")" "the same warning from -o"
run "$WORK/o" "$WORK/e" "$CPRUN" -F "$BASE" -o ForwardAgent=yes -o LogLevel=QUIET base echo fine
is "$(cat "$WORK/e")" "" "LogLevel QUIET: no warning"

# --- RequestTTY in the file: read by cprun itself (the relay has no say).
f=$(cfg ttyforce "RequestTTY force")
run "$WORK/o" "$WORK/e" "$CPRUN" -F "$f" ttyforce sh -c 'tty; stty size'
case $(head -1 "$WORK/o") in /dev/pts/*) r=0 ;; *) r=1 ;; esac
ok $r "RequestTTY force in the file: the program runs on a terminal, stdin a pipe (got $(head -1 "$WORK/o" | tr -d '\r'))"
grep -q "RequestTTY" "$WORK/e"
ok $((!$?)) "... and no warning about it"
run "$WORK/o" "$WORK/e" "$CPRUN" -T -F "$f" ttyforce tty
is "$(cat "$WORK/o")" "not a tty" "-T wins over RequestTTY force in the file, as with ssh"
run "$WORK/o" "$WORK/e" "$CPRUN" -F "$BASE" -o RequestTTY=force base tty
case $(head -1 "$WORK/o") in /dev/pts/*) r=0 ;; *) r=1 ;; esac
ok $r "-o RequestTTY=force: the same"

# --- Which evaluator ran.
run "$WORK/o" "$WORK/e" "$CPRUN" -v -F "$BASE" base true
grep -q "evaluated by OpenSSH" "$WORK/e"
ok $? "-v says that ssh -G evaluated the configuration"

# --- Without the OpenSSH client: libssh's parser, -o through the same table.
run "$WORK/o" "$WORK/e" env CPREMOTE_SSH=/nonexistent/ssh "$CPRUN" -v -F "$BASE" -o ConnectTimeout=5 base echo fine
is "$(cat "$WORK/o")" fine "no ssh client: the fallback connects"
grep -q "read by libssh's parser" "$WORK/e"
ok $? "no ssh client: -v says libssh's parser ran"
run "$WORK/o" "$WORK/e" env CPREMOTE_SSH=/nonexistent/ssh "$CPRUN" -F "$BASE" -o RemoteCommand=/bin/true base true
is "$RC" 2 "no ssh client: a refused -o keyword is refused all the same"

echo "1..$t"
exit $failed
