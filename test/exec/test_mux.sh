#!/usr/bin/env bash
# test_mux.sh — ControlMaster, ControlPath and ControlPersist across
# processes, as with ssh: a second cprun uses the master relay the first
# left (the same relay pid, the same remote helper), ControlPersist ends
# it, -O check and -O exit answer as ssh's, unsafe directories and peers
# of another uid are refused, a killed master's stale socket is replaced,
# 8 concurrent first callers end with one master, the ssh_config's
# keywords and %-tokens count, and the child of a caller that dies is
# ended.  Speaks TAP.
set -u

DIR=${CPREMOTE_TEST_DIR:-}
[ -n "$DIR" ] || { echo "1..0 # SKIP no test hosts (CPREMOTE_TEST_DIR)"; exit 0; }
[ -n "${CPRUN:-}" ] || { echo "1..0 # SKIP CPRUN not set"; exit 0; }

WORK=$(mktemp -d /tmp/cpremote-mux.XXXXXX)
chmod 0711 "$WORK" # others may pass (test 6), never write
cleanup() {
	for s in "$WORK"/m*; do
		[ -S "$s" ] && "$CPRUN" -o ControlPath="$s" -O exit h1 2>/dev/null
	done
	[ -n "${LPID:-}" ] && kill "$LPID" 2>/dev/null
	rm -rf "$WORK"
}
trap cleanup EXIT

t=0 failed=0
ok() { # ok COND-EXIT-CODE DESCRIPTION
	t=$((t + 1))
	if [ "$1" = 0 ]; then echo "ok $t - $2"; else echo "not ok $t - $2"; failed=1; fi
}
is() { # is GOT WANT DESCRIPTION
	[ "$1" = "$2" ]
	ok $? "$3 (got '$1', want '$2')"
}
mux() { # mux NAME PERSIST ARGS...: cprun with a master at $WORK/NAME
	local name=$1 persist=$2
	shift 2
	"$CPRUN" -F "$DIR/ssh_config" -o ControlMaster=auto -o ControlPath="$WORK/$name" \
		-o ControlPersist="$persist" "$@"
}
master_pid() { # master_pid NAME: the pid -O check reports, or nothing
	mux "$1" 0 -O check h1 2>&1 | sed -n 's/^Master running (pid=\([0-9]*\))$/\1/p'
}
wait_gone() { # wait_gone PATH SECONDS: 0 once no socket file is left
	for _ in $(seq $((10 * $2))); do
		[ -e "$1" ] || return 0
		sleep 0.1
	done
	return 1
}

# 1. Reuse: the second process finds the first one's master.
a=$(mux m1 60 h1 sh -c 'echo $PPID')
ok $? "the first cprun runs and leaves a master"
[ -S "$WORK/m1" ]
ok $? "the master listens on the ControlPath"
p1=$(master_pid m1)
b=$(mux m1 60 h1 sh -c 'echo $PPID')
is "$b" "$a" "the second cprun ran under the same remote helper (one SSH connection)"
is "$(master_pid m1)" "$p1" "the same master relay answers afterwards"
[ -n "$p1" ] && [ "$(stat -c %a "$WORK/m1")" = 600 ]
ok $? "the socket is the user's alone (mode 600)"
# A warm start maps no library it does not use: libcrypto (only --ship) and
# libedit (only --connect on a terminal) are loaded when needed (each cost
# the warm spawn about 0.3-0.7 ms at every start).
(exec "$CPRUN" -F "$DIR/ssh_config" -o ControlMaster=auto -o ControlPath="$WORK/m1" \
	-o ControlPersist=60 h1 sleep 2) &
pid=$!
maps=
for _ in $(seq 50); do
	sleep 0.1
	maps=$(cat "/proc/$pid/maps" 2>/dev/null) || break
	case $maps in *libcpremote*) break ;; esac
done
wait "$pid"
case $maps in *libcpremote*) ! echo "$maps" | grep -Eq 'libcrypto|libedit' ;; *) false ;; esac
ok $? "a warm cprun loads neither libcrypto nor libedit"

# 2. -O check and -O exit, with ssh's messages and exit codes.
out=$(mux m1 0 -O check h1 2>&1)
ok $? "-O check exits 0 while the master runs"
is "$out" "Master running (pid=$p1)" "-O check prints ssh's message"
out=$(mux m1 0 -O exit h1 2>&1)
ok $? "-O exit exits 0"
is "$out" "Exit request sent." "-O exit prints ssh's message"
wait_gone "$WORK/m1" 10
ok $? "after -O exit the socket file is gone"
out=$(mux m1 0 -O check h1 2>&1)
is "$?" 255 "-O check without a master exits 255"
is "$out" "Control socket connect($WORK/m1): No such file or directory" "-O check says why"
out=$("$CPRUN" -F "$DIR/ssh_config" -O check h1 2>&1)
is "$?:$out" "255:No ControlPath specified for \"-O\" command" "-O without a ControlPath"
out=$(mux m1 0 -O stop h1 2>&1)
is "$?:$out" "255:Invalid multiplex command." "-O with an unknown command"

# 3. ControlPersist: the master ends that long after its last caller.
mux m2 2 h1 true
ok $? "a master with ControlPersist=2 starts"
[ -n "$(master_pid m2)" ]
ok $? "it runs right after its creator ended"
wait_gone "$WORK/m2" 20
ok $? "it ended within 20 s of ControlPersist=2 (and removed its socket)"
mux m3 no h1 true
wait_gone "$WORK/m3" 10
ok $? "ControlPersist=no: the master ends with its creating caller"

# 4. Unsafe places are refused.
mkdir -m 0777 "$WORK/open"
out=$("$CPRUN" -F "$DIR/ssh_config" -o ControlMaster=auto -o ControlPath="$WORK/open/m" h1 true 2>&1)
is "$?" 2 "a world-writable directory is refused (exit 2, bad configuration)"
case $out in *"writable by no one else"*) r=0 ;; *) r=1 ;; esac
ok $r "and the message says why: $out"
# The other user: cprtest, which the test hosts create when run as root.
if [ "$(id -u)" = 0 ] && id cprtest >/dev/null 2>&1; then
	mkdir -m 0700 "$WORK/theirs" && chown cprtest "$WORK/theirs"
	"$CPRUN" -F "$DIR/ssh_config" -o ControlMaster=auto -o ControlPath="$WORK/theirs/m" h1 true 2>/dev/null
	is "$?" 2 "a directory of another user is refused"

	# 5. A master answering as another uid is refused by the caller.
	/usr/bin/python3 - "$WORK/m4" "$(id -u cprtest)" >"$WORK/listener.out" 2>&1 <<'EOF' &
import os, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
s.bind(sys.argv[1])
os.setuid(int(sys.argv[2]))  # listen() records the credentials the peer sees
s.listen(8)
print("listening", flush=True)
while True:
    c, _ = s.accept()
    c.send(b"CPRRELAY\0\0\0\1\0\0\0\1")
EOF
	LPID=$!
	for _ in $(seq 50); do grep -q listening "$WORK/listener.out" && break; sleep 0.1; done
	out=$(mux m4 0 h1 true 2>&1)
	is "$?" 2 "a master socket whose listener is another uid is refused"
	case $out in *"runs as uid $(id -u cprtest), not as you"*) r=0 ;; *) r=1 ;; esac
	ok $r "and the message names its uid: $out"
	kill "$LPID" 2>/dev/null
	wait "$LPID" 2>/dev/null
	LPID=

	# 6. The master refuses a caller of another uid (reachable only through a careless chmod).
	mkdir -m 0711 "$WORK/d5"
	"$CPRUN" -F "$DIR/ssh_config" -o ControlMaster=auto -o ControlPath="$WORK/d5/m" \
		-o ControlPersist=60 h1 true
	ok $? "a master in a 0711 directory starts"
	chmod 0666 "$WORK/d5/m"
	got=$(setpriv --reuid=cprtest --regid=cprtest --clear-groups /usr/bin/python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
s.settimeout(10)
s.connect(sys.argv[1])
print(len(s.recv(64)))' "$WORK/d5/m" 2>&1)
	is "$got" 0 "a caller of another uid gets no greeting, only end of file"
	grep -q "refused a caller of uid $(id -u cprtest)" "$WORK/d5/m.log"
	ok $? "the master logged the refusal in its ControlPath.log"
	"$CPRUN" -o ControlPath="$WORK/d5/m" -O exit h1 2>/dev/null
else
	for _ in 1 2 3 4 5 6 7; do t=$((t + 1)); echo "ok $t # SKIP not root, or no user cprtest"; done
fi

# 7. A killed master leaves a stale socket; the next caller replaces it.
mux m6 60 h1 true
p6=$(master_pid m6)
kill -KILL "$p6"
for _ in $(seq 50); do kill -0 "$p6" 2>/dev/null || break; sleep 0.1; done
[ -S "$WORK/m6" ]
ok $? "the killed master left its socket file"
mux m6 60 h1 true
ok $? "the next caller runs anyway"
p6b=$(master_pid m6)
[ -n "$p6b" ] && [ "$p6b" != "$p6" ]
ok $? "and became the new master (pid $p6 -> $p6b)"

# 8. Eight first callers at once end with one master and one connection.
for i in $(seq 8); do
	mux m7 60 h1 sh -c 'echo $PPID' >"$WORK/c$i.out" 2>&1 &
done
wait
is "$(cat "$WORK"/c*.out | sort -u | wc -l)" 1 "8 concurrent first callers ran under one remote helper"
is "$(pgrep -c -f -- "--master [0-9]* $WORK/m7 ")" 1 "and one master relay runs for that path"

# 9. The ssh_config's keywords, with %-tokens expanded as ssh does.
{
	echo "Host h1"
	echo "	ControlMaster auto"
	echo "	ControlPath $WORK/cfg-%h-%p-%r"
	echo "	ControlPersist 60"
	cat "$DIR/ssh_config"
} >"$WORK/ssh_config"
port=$(sed -n 's/^ListenAddress .*:\([0-9]*\)$/\1/p' "$DIR/h1/sshd_config")
a=$("$CPRUN" -F "$WORK/ssh_config" h1 sh -c 'echo $PPID')
ok $? "cprun runs with ControlMaster from an ssh_config file"
[ -S "$WORK/cfg-127.0.0.2-$port-cprtest" ]
ok $? "its ControlPath's tokens were expanded (cfg-127.0.0.2-$port-cprtest)"
b=$("$CPRUN" -F "$WORK/ssh_config" h1 sh -c 'echo $PPID')
is "$b" "$a" "the next one reuses that master"
sleep 3 # longer than a connection's own idle time (2 s): the file's ControlPersist keeps it
b=$("$CPRUN" -F "$WORK/ssh_config" h1 sh -c 'echo $PPID')
is "$b" "$a" "3 s later too: the master kept its connection for the file's ControlPersist"
"$CPRUN" -F "$WORK/ssh_config" -O exit h1 2>/dev/null
ok $? "-O exit finds it through the file too"

# 10. ControlMaster=no uses a live master, and runs alone without one.
mux m8 60 h1 true
a=$(mux m8 60 h1 sh -c 'echo $PPID')
b=$("$CPRUN" -F "$DIR/ssh_config" -o ControlMaster=no -o ControlPath="$WORK/m8" -o ControlPersist=60 h1 sh -c 'echo $PPID')
is "$b" "$a" "ControlMaster=no uses the live master"
p8=$(master_pid m8)
c=$("$CPRUN" -F "$DIR/ssh_config" -o ControlMaster=yes -o ControlPath="$WORK/m8" -o ControlPersist=60 h1 sh -c 'echo $PPID')
[ -n "$c" ] && [ "$c" != "$a" ]
ok $? "ControlMaster=yes beside a live master runs on a connection of its own, as ssh"
is "$(master_pid m8)" "$p8" "and the live master keeps its socket"
"$CPRUN" -F "$DIR/ssh_config" -o ControlMaster=no -o ControlPath="$WORK/none" h1 true
ok $? "ControlMaster=no without a master runs on a relay of its own"
[ ! -e "$WORK/none" ]
ok $? "and leaves no socket"

# 11. A caller that dies: its child is ended (a caller leaves nothing running), the master stays.
mkdir -m 0777 "$WORK/pub"
"$CPRUN" -F "$DIR/ssh_config" -o ControlMaster=auto -o ControlPath="$WORK/m8" -o ControlPersist=60 \
	h1 sh -c "echo \$\$ >$WORK/pub/child.pid; exec sleep 60" &
cpid=$!
for _ in $(seq 100); do [ -s "$WORK/pub/child.pid" ] && break; sleep 0.1; done
rpid=$(cat "$WORK/pub/child.pid" 2>/dev/null)
kill -KILL "$cpid"
wait "$cpid" 2>/dev/null
gone=1
for _ in $(seq 150); do kill -0 "$rpid" 2>/dev/null || { gone=0; break; }; sleep 0.1; done
[ -n "$rpid" ] || gone=1
[ $gone = 0 ] || ps -o pid,ppid,stat,cmd -p "$rpid" >&2
ok $gone "the child (pid $rpid) of a killed caller is ended within 15 s"
[ -n "$(master_pid m8)" ]
ok $? "the master serves on"

echo "1..$t"
exit $failed
