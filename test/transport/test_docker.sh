#!/usr/bin/env bash
# test_docker.sh — docker:// against Debian's real dockerd.  The script
# starts its own daemon, confined: `dockerd --bridge=none --iptables=false
# --ip-forward=false --ip-masq=false` on a private socket with its own
# data and exec roots under a temporary directory (containerd too: dockerd
# starts its own under the exec root), and stops it and removes every file
# it made at the end.  The image is built here, nothing pulled: a root
# filesystem holding only Debian's static busybox and its applet links (no
# python, no node, no socat), imported with `docker import`; containers run
# with --network none.  Checked: zero-install upload into the container
# and the cache the next time, stdio, exit codes, a signal, a container or
# a docker client that is not there, the HMAC channel check, -l USER as
# --user, one fan-out mixing libssh, docker:// and openssh://, the
# container killed mid-run (cprun 255, the library CPREMOTE_ECONNLOST), the
# caller SIGKILLed (the container's processes end), `cprun --connect
# docker://C:PATH` to a static socket-file server in a container (bytes
# both ways, half-close, the server closing first, nothing listening, -l,
# nothing left behind), and the daemon gone with its files at the end.  Speaks TAP.  Needs root and dockerd; skips
# without.
set -u

skip() { echo "1..0 # SKIP $1"; exit 0; }
[ "$(id -u)" = 0 ] || skip "not root: dockerd runs only as root here"
command -v dockerd >/dev/null || skip "no dockerd (Debian's docker.io)"
BUSYBOX=/bin/busybox
[ -x $BUSYBOX ] && ! ldd $BUSYBOX >/dev/null 2>&1 || skip "no static $BUSYBOX (Debian's busybox-static)"
CPRUN=${CPRUN:?}
SRC=${CPREMOTE_TEST_SRC:?}/transport
HMAC_CHILD=${HMAC_CHILD_STATIC:?}
UNIX_SERVER=${UNIX_SERVER_STATIC:?}
# Debian's docker client when there, so that client and daemon match.
DOCKER_CLI=$(command -v /usr/bin/docker || command -v docker) || skip "no docker client"

WORK=$(mktemp -d /tmp/cpremote-docker.XXXXXX)
export DOCKER_HOST=unix://$WORK/docker.sock
DAEMON=

# What dockerd and its containerd make outside their roots, whatever the
# flags: a trust key in /etc/docker, plugin and shim socket directories
# under /run.  Those that were not there before the daemon started are
# removed after it (directories only when empty: another daemon may use them).
OUTSIDE="/etc/docker/key.json /run/docker/plugins /run/docker /run/containerd/s /run/containerd"
before=
for f in $OUTSIDE; do [ -e "$f" ] && before="$before $f"; done

stop_daemon() {
	if [ -n "$DAEMON" ]; then
		"$DOCKER_CLI" ps -aq 2>/dev/null | xargs -r "$DOCKER_CLI" rm -f >/dev/null 2>&1
		kill -TERM "$DAEMON" 2>/dev/null
		for _ in $(seq 150); do kill -0 "$DAEMON" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$DAEMON" 2>/dev/null
		wait "$DAEMON" 2>/dev/null
		DAEMON=
	fi
	# dockerd unmounts what it mounted when it stops; whatever is left is
	# unmounted before the files go, so that rm never crosses into a mount.
	grep -o " $WORK/[^ ]*" /proc/mounts | sort -r | while read -r m; do umount -l "$m"; done
	rm -rf "$WORK"
	for f in $OUTSIDE; do
		case " $before " in *" $f "*) continue ;; esac
		if [ -d "$f" ]; then rmdir "$f" 2>/dev/null; else rm -f "$f"; fi
	done
}
trap stop_daemon EXIT

. "$SRC/checks.sh"
bail() { # bail DESCRIPTION: the rest cannot run
	ok 1 "$1"
	sed 's/^/# /' "$WORK/dockerd.log" | tail -n 20
	echo "1..$t"
	exit 1
}

# The docker client the relay runs is the one found as `docker` on PATH.
mkdir -p "$WORK/bin"
ln -s "$DOCKER_CLI" "$WORK/bin/docker"
export PATH=$WORK/bin:$PATH
dk() { timeout 60 "$DOCKER_CLI" "$@"; }

dockerd --bridge=none --iptables=false --ip-forward=false --ip-masq=false --storage-driver vfs \
	-H "$DOCKER_HOST" --data-root "$WORK/data" --exec-root "$WORK/exec" --pidfile "$WORK/dockerd.pid" \
	>"$WORK/dockerd.log" 2>&1 &
DAEMON=$!
up=1
for _ in $(seq 300); do dk version >/dev/null 2>&1 && { up=0; break; }; sleep 0.1; done
[ $up = 0 ] || bail "dockerd answers on its private socket"

# The image: busybox, its applets, a user for -l, a /tmp; nothing else.
root=$WORK/rootfs
mkdir -p "$root/bin" "$root/etc" "$root/tmp" "$root/home/cpruser"
cp $BUSYBOX "$root/bin/busybox"
for a in $($BUSYBOX --list); do [ "$a" = busybox ] || ln -s busybox "$root/bin/$a"; done
printf 'root:x:0:0::/:/bin/sh\ncpruser:x:1000:1000::/home/cpruser:/bin/sh\n' >"$root/etc/passwd"
printf 'root:x:0:\ncpruser:x:1000:\n' >"$root/etc/group"
chown 1000:1000 "$root/home/cpruser"
chmod 1777 "$root/tmp"
tar -C "$root" -c . | dk import - cpremote-busybox >/dev/null || bail "the busybox image is imported"
start() { dk run -d --network none cpremote-busybox sleep 100000; }
c1=$(start) || bail "a container starts"

dk exec "$c1" sh -c 'command -v python3 python node socat perl' >"$WORK/found"
is "$(cat "$WORK/found")" "" "the container has no python, node, socat or perl"

# Zero-install: no helper named, none in the container.
unset CPREMOTE_HELPER
run() { timeout 60 "$CPRUN" "$@"; }
out=$(run -v "docker://$c1" sh -c 'echo fresh' 2>"$WORK/err")
is "$out" fresh "zero-install into the container"
grep -q "uploading" "$WORK/err"
ok $? "... the helper was uploaded through docker exec"
out=$(run -v "docker://$c1" sh -c 'echo again' 2>"$WORK/err")
is "$out" again "... and found in the container's cache the next time"
! grep -q "uploading" "$WORK/err"
ok $? "... without a second upload"

stream_checks "docker://$c1"
run docker://no-such-container-cpremote true 2>"$WORK/err"
is $? 255 "a container that does not exist: 255"
grep -qi "no such container" "$WORK/err"
ok $? "... with docker's stderr shown" || sed 's/^/# /' "$WORK/err"
CPREMOTE_DOCKER=$WORK/no-such-docker run "docker://$c1" true 2>"$WORK/err"
is $? 255 "no docker client: 255"
grep -q "cannot run $WORK/no-such-docker" "$WORK/err"
ok $? "... saying so" || sed 's/^/# /' "$WORK/err"

dk cp "$HMAC_CHILD" "$c1:/bin/hmac_child" && python3 "$SRC/hmac_check.py" "$CPRUN" /bin/hmac_child "docker://$c1"
ok $? "HMAC-SHA256 of 1 MiB through the channel"

# A terminal through docker exec: the helper makes the pty in the container.
out=$(run -tt "docker://$c1" sh -c 'tty; stty size' </dev/null 2>"$WORK/err" | tr -d '\r')
case $(echo "$out" | head -1) in /dev/pts/*) r=0 ;; *) r=1 ;; esac
ok $r "-tt: the program runs on a terminal in the container (got: $(echo "$out" | head -1))"

out=$(run -l cpruser "docker://$c1" sh -c 'id -un; echo $HOME' 2>"$WORK/err")
is "$(echo $out)" "cpruser /home/cpruser" "-l cpruser runs as that user (docker exec --user)"
dk exec "$c1" sh -c 'ls /home/cpruser/.cache/cpremote' | grep -q cpremote-helper
ok $? "... with the helper installed in that user's cache"

# One fan-out over three transports.  The helper goes to the container
# at the path the test hosts run it from (CPREMOTE_HELPER of the tests),
# so that none is uploaded into the test hosts' shared user.
if [ -n "${CPREMOTE_TEST_DIR:-}" ]; then
	helper=${CPREMOTE_TEST_BUILD:?}/../helper/cpremote-helper
	c3=$(start)
	dk exec "$c3" mkdir -p "$(dirname "$helper")" && dk cp "$helper" "$c3:$helper"
	out=$(CPREMOTE_HELPER=$helper run -F "$CPREMOTE_TEST_DIR/ssh_config" -H "h1,docker://$c3,openssh://h2" \
		sh -c 'echo up' 2>"$WORK/err")
	is $? 0 "cprun -H h1,docker://C,openssh://h2: one fan-out over three transports"
	is "$(echo "$out" | grep -c ': up$')" 3 "... every host's output arrives" || sed 's/^/# /' "$WORK/err"
fi

# procs C PATTERN: whether a process of container C matches PATTERN.
procs() { dk top "$1" -o pid,args 2>/dev/null | grep -q -- "$2"; }
# wait_proc C PATTERN: until one runs (0), or 10 s (1).
wait_proc() { for _ in $(seq 100); do procs "$1" "$2" && return 0; sleep 0.1; done; return 1; }

# The container killed mid-run: cprun and the library learn it.
c2=$(start)
run "docker://$c2" sleep 4711 2>"$WORK/err" &
pid=$!
wait_proc "$c2" "sleep 4711"
ok $? "a target runs in the second container"
dk kill "$c2" >/dev/null
wait $pid
is $? 255 "docker kill of the container mid-run: cprun exits 255"
grep -q "connection lost" "$WORK/err"
ok $? "... as a lost connection" || sed 's/^/# /' "$WORK/err"

c2=$(start)
timeout 60 "${LOST_CALLER:?}" "docker://$c2" sh -c 'echo go; exec sleep 4712' >"$WORK/lost" &
pid=$!
for _ in $(seq 100); do grep -q started "$WORK/lost" && break; sleep 0.1; done
dk kill "$c2" >/dev/null
wait $pid
ok $? "... and the library's cpremote_wait() returns CPREMOTE_ECONNLOST"
sed 's/^/# /' "$WORK/lost"

# The caller SIGKILLed (cprun itself, not a timeout around it): the
# tunnel ends and the helper ends the target.
"$CPRUN" "docker://$c1" sh -c 'sleep 4713 & exec sleep 4714' &
pid=$!
wait_proc "$c1" "sleep 4714"
ok $? "a target and its background child run in the container"
kill -KILL $pid
wait $pid 2>/dev/null
gone=1
for _ in $(seq 200); do
	procs "$c1" "sleep 471[34]\|cpremote-helper" || { gone=0; break; }
	sleep 0.1
done
ok $gone "caller SIGKILLed: the target, its child and the helper in the container end" || dk top "$c1" -o pid,args | sed 's/^/# /'

# --connect docker://C:PATH: a static socket-file server in a fresh
# container, so that the attach is the first request there (zero-install
# through docker exec) and afterwards nothing of cpremote may be left.
c4=$(start)
SOCK=/tmp/cpr-connect.sock
dk cp "$UNIX_SERVER" "$c4:/bin/unix_server" &&
	dk exec -d "$c4" sh -c "echo \$\$ >/tmp/server.pid; exec /bin/unix_server $SOCK" &&
	dk exec -d "$c4" /bin/unix_server /tmp/cpr-close.sock close
listening() { for _ in $(seq 100); do dk exec "$c4" test -S "$1" && return 0; sleep 0.1; done; return 1; }
listening $SOCK && listening /tmp/cpr-close.sock
ok $? "two socket-file servers listen in the container"
out=$(echo through-docker | run -v --connect "docker://$c4:$SOCK" 2>"$WORK/err")
is $? 0 "--connect docker://C:PATH: exit 0 when the server closes" || sed 's/^/# /' "$WORK/err"
is "$(echo $out)" "hello through-docker bye 15" \
	"... the greeting, the echo, then the count: the half-close reached the server"
grep -q "uploading" "$WORK/err"
ok $? "... the helper was uploaded for the attach"
head -c 1048576 /dev/urandom >"$WORK/big"
{ echo hello; cat "$WORK/big"; echo "bye 1048576"; } | sha256sum >"$WORK/want"
run --connect "docker://$c4:$SOCK" <"$WORK/big" 2>"$WORK/err" | sha256sum >"$WORK/got"
is "${PIPESTATUS[0]}" 0 "1 MiB of random bytes each way: exit 0"
is "$(cat "$WORK/got")" "$(cat "$WORK/want")" "... every byte back, in order"
# The server's end of file first, stdin still open: cprun ends at once.
mkfifo "$WORK/hold"
sleep 30 >"$WORK/hold" &
hold=$!
begin=$SECONDS
out=$(run --connect "docker://$c4:/tmp/cpr-close.sock" <"$WORK/hold" 2>"$WORK/err")
r=$?
took=$((SECONDS - begin))
kill $hold 2>/dev/null
wait $hold 2>/dev/null
is "$r $out" "0 hello" "the server closes first: the greeting, exit 0"
[ $took -lt 20 ]
ok $? "... with stdin still open (${took} s; the stdin lasted 30)"
# Nothing listening: no file, then a stale one (its server SIGKILLed).
run --connect "docker://$c4:/tmp/no-such.sock" </dev/null 2>"$WORK/err"
is $? 255 "--connect to a path with no file: 255"
is "$(cat "$WORK/err")" "cprun: docker://$c4: cannot connect to /tmp/no-such.sock: no such file or directory" "... saying so"
dk exec "$c4" sh -c 'kill -KILL $(cat /tmp/server.pid)'
run --connect "docker://$c4:$SOCK" </dev/null 2>"$WORK/err"
is $? 255 "--connect to a socket file nobody listens on: 255"
is "$(cat "$WORK/err")" "cprun: docker://$c4: cannot connect to $SOCK: no process listens on it (connection refused)" "... saying so"
run -l cpruser --connect "docker://$c4:/tmp/cpr-close.sock" </dev/null 2>"$WORK/err"
is $? 255 "-l cpruser: the attach runs as that user, whom the root-owned socket refuses: 255"
grep -q "cannot connect to /tmp/cpr-close.sock: permission denied" "$WORK/err"
ok $? "... saying so" || sed 's/^/# /' "$WORK/err"
# Left in the container: its sleep and the server still listening.
want="/bin/unix_server /tmp/cpr-close.sock close
sleep 100000"
for _ in $(seq 100); do
	# (docker top wants the pid column, to pick the container's processes.)
	left=$(dk top "$c4" -o pid,args | awk 'NR > 1 { $1 = ""; sub(/^ /, ""); print }' | sort)
	[ "$left" = "$want" ] && break
	sleep 0.1
done
is "$left" "$want" "after the attaches no helper, stub or connection is left in the container"

daemon_pid=$DAEMON
stop_daemon
kill -0 "$daemon_pid" 2>/dev/null
is $? 1 "dockerd has stopped"
left=
for f in $WORK $OUTSIDE; do
	case " $before " in *" $f "*) ;; *) [ -e "$f" ] && left="$left $f" ;; esac
done
is "$left" "" "... and left none of its files behind"

echo "1..$t"
exit $failed
