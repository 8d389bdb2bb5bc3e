#!/usr/bin/env bash
# test_transport.sh — the command transports against the real sshd test
# hosts: exec: (a local sh, and the ssh client given by hand) and
# openssh:// (the local ssh binary): stdio, exit codes, signals, the HMAC
# channel check, one fan-out mixing libssh and both transports, a tunnel
# command that is not installed, one that dies mid-run, the caller
# SIGKILLed, zero-install through the tunnel, and k8s:// and ssm://
# through stand-in executables (standin-kubectl, standin-aws: no cluster
# or AWS account runs here).  Speaks TAP.
set -u

DIR=${CPREMOTE_TEST_DIR:-}
[ -n "$DIR" ] || { echo "1..0 # SKIP no test hosts (CPREMOTE_TEST_DIR)"; exit 0; }
CPRUN=${CPRUN:?}
SRC=${CPREMOTE_TEST_SRC:?}/transport
HMAC_CHILD=${CPREMOTE_TEST_BUILD:?}/channel/hmac_child
CFG=$DIR/ssh_config
WORK=$(mktemp -d /tmp/cpremote-transport.XXXXXX)
trap 'rm -rf "$WORK"' EXIT

. "$SRC/checks.sh"
run() { timeout 60 "$CPRUN" -F "$CFG" "$@"; }

SSH_EXEC="exec:ssh -F $CFG -T -o BatchMode=yes h3"
for dest in "exec:sh -c" "$SSH_EXEC" openssh://h2; do
	stream_checks "$dest"
	python3 "$SRC/hmac_check.py" "$CPRUN" "$HMAC_CHILD" "$dest" -F "$CFG"
	ok $? "$dest: HMAC-SHA256 of 1 MiB through the channel"
done

out=$(run -H h1,openssh://h2,"exec:sh -c" sh -c 'echo up' 2>"$WORK/err")
is $? 0 "one fan-out over libssh, openssh:// and exec:"
is "$(echo "$out" | grep -c ': up$')" 3 "... every host's output arrives"

run "exec:no-such-tunnel-command --flag" true 2>"$WORK/err"
is $? 255 "a tunnel command that is not installed: 255"
grep -q "cannot run no-such-tunnel-command" "$WORK/err"
ok $? "... with its error shown"
run openssh://no-such-host-cpremote true 2>"$WORK/err"
is $? 255 "ssh cannot resolve the host: 255"
grep -qi "no-such-host-cpremote" "$WORK/err"
ok $? "... with ssh's stderr shown"

run "exec:$SRC/tunnel-cut 2 {}" sleep 30 2>"$WORK/err"
is $? 255 "the tunnel command dies mid-run: 255"
grep -q "connection lost" "$WORK/err"
ok $? "... as a lost connection"

# The caller SIGKILLed: the helper loses its stdin and ends the child.
"$CPRUN" -F "$CFG" openssh://h2 sh -c "echo \$\$ >$WORK/pid; exec sleep 120" &
caller=$!
for _ in $(seq 100); do [ -s "$WORK/pid" ] && break; sleep 0.1; done
kill -KILL $caller
wait $caller 2>/dev/null
gone=1
for _ in $(seq 100); do kill -0 "$(cat "$WORK/pid")" 2>/dev/null || { gone=0; break; }; sleep 0.1; done
ok $gone "caller SIGKILLed: the far side's child ends"

# Zero-install through the tunnel: a fresh home, no helper named.
home=$WORK/home
mkdir -p "$home"
out=$(HOME=$home XDG_CACHE_HOME= env -u CPREMOTE_HELPER timeout 60 "$CPRUN" -v "exec:sh -c" sh -c 'echo fresh' 2>"$WORK/err")
is "$out" fresh "zero-install through exec: into a fresh home"
grep -q "uploading" "$WORK/err"
ok $? "... the helper was uploaded through the tunnel"
out=$(HOME=$home XDG_CACHE_HOME= env -u CPREMOTE_HELPER timeout 60 "$CPRUN" -v "exec:sh -c" sh -c 'echo again' 2>"$WORK/err")
is "$out" again "... and found in the cache the next time"
! grep -q "uploading" "$WORK/err"
ok $? "... without a second upload"

# A terminal and --connect through a command transport: the helper makes
# the pty and connects to the socket file, whatever carries its stream.
for dest in openssh://h2 "$SSH_EXEC"; do
	out=$(run -tt "$dest" sh -c 'tty; stty size' </dev/null 2>"$WORK/err" | tr -d '\r')
	case $(echo "$out" | head -1) in /dev/pts/*) r=0 ;; *) r=1 ;; esac
	ok $r "$dest: -tt runs the program on a terminal (got: $(echo "$out" | head -1))"
done
SOCK=/tmp/cpr-transport-connect-$$.sock
timeout 60 "$CPRUN" -F "$CFG" h2 socat "UNIX-LISTEN:$SOCK,fork" EXEC:cat </dev/null 2>/dev/null &
SRV=$!
for _ in $(seq 100); do [ -S "$SOCK" ] && break; sleep 0.1; done
out=$(echo through-openssh | run --connect "openssh://h2:$SOCK" 2>"$WORK/err")
is "$out" through-openssh "--connect openssh://h2:PATH: the socket file's server answers"
out=$(echo with-port | run --connect "openssh://h2:$CPREMOTE_TEST_PORT:$SOCK" 2>"$WORK/err")
is "$out" with-port "--connect openssh://h2:PORT:PATH: the same"
kill "$SRV" 2>/dev/null
wait "$SRV" 2>/dev/null
rm -f "$SOCK"

# k8s:// and ssm:// only through stand-ins.
out=$(STANDIN_LOG=$WORK/kargv CPREMOTE_KUBECTL=$SRC/standin-kubectl run -o Context=ctx1 k8s://ns1/pod1/c1 sh -c 'echo pod; exit 5')
is $? 5 "k8s:// through standin-kubectl: exit code"
is "$out" pod "... output"
is "$(head -n 12 "$WORK/kargv" | tr '\n' ' ')" "--context ctx1 exec -i -n ns1 pod1 -c c1 -- /bin/sh -c " "... kubectl's argv"
out=$(STANDIN_LOG=$WORK/aargv CPREMOTE_AWS=$SRC/standin-aws run ssm://i-0123@eu-west-1 sh -c 'echo ssm; exit 6')
is $? 6 "ssm:// through standin-aws: exit code"
is "$out" ssm "... output"
is "$(head -n 9 "$WORK/aargv" | tr '\n' ' ')" "ssm start-session --target i-0123 --region eu-west-1 --document-name AWS-StartNonInteractiveCommand --parameters " "... aws's argv"

# --connect through exec: and the stand-ins: the stub they run is local,
# so the socket file's server is too.
LSOCK=/tmp/cpr-local-connect-$$.sock
socat "UNIX-LISTEN:$LSOCK,fork" EXEC:cat </dev/null 2>/dev/null &
LSRV=$!
for _ in $(seq 100); do [ -S "$LSOCK" ] && break; sleep 0.1; done
out=$(echo via-exec | run --connect "exec:sh -c:$LSOCK" 2>"$WORK/err")
is "$out" via-exec "--connect exec:COMMAND:PATH: PATH follows the last colon ($(cat "$WORK/err"))"
out=$(echo via-k8s | CPREMOTE_KUBECTL=$SRC/standin-kubectl run --connect "k8s://ns1/pod1/c1:$LSOCK" 2>"$WORK/err")
is "$out" via-k8s "--connect k8s://NS/POD/C:PATH through standin-kubectl ($(cat "$WORK/err"))"
out=$(echo via-ssm | CPREMOTE_AWS=$SRC/standin-aws run --connect "ssm://i-0123@eu-west-1:$LSOCK" 2>"$WORK/err")
is "$out" via-ssm "--connect ssm://ID@REGION:PATH through standin-aws ($(cat "$WORK/err"))"
run --connect "exec:sh -c" </dev/null 2>"$WORK/err"
is $? 2 "--connect exec:COMMAND without a PATH: a usage error"
run --connect "exec:sh -c:/tmp/cpr-nobody-$$.sock" </dev/null 2>"$WORK/err"
ok $([ $? = 255 ] && grep -q "cannot connect to /tmp/cpr-nobody-$$.sock" "$WORK/err"; echo $?) \
	"--connect exec: to a missing path: 255 naming it ($(cat "$WORK/err"))"
kill "$LSRV" 2>/dev/null
wait "$LSRV" 2>/dev/null
rm -f "$LSOCK"

echo "1..$t"
exit $failed
