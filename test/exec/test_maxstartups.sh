#!/usr/bin/env bash
# test_maxstartups.sh — a handshake that sshd drops (beyond MaxStartups) is
# retried with backoff, so every caller gets through.  A test about changing
# sshd's limits: it starts one extra sshd, a copy of h1's with MaxStartups
# 1:100:1 (every unauthenticated connection beyond the first is dropped), on
# another port, and starts 12 cprun at once against it.  Each cprun has its
# own relay, so 12 handshakes race; without the retry most would fail.
# Speaks TAP.
set -u

DIR=${CPREMOTE_TEST_DIR:-}
[ -n "$DIR" ] || { echo "1..0 # SKIP no test hosts (CPREMOTE_TEST_DIR)"; exit 0; }
[ -n "${CPRUN:-}" ] || { echo "1..0 # SKIP CPRUN not set"; exit 0; }

N=12
WORK=$(mktemp -d /tmp/cpremote-maxstartups.XXXXXX)
chmod 0755 "$WORK"
SSHD_PID=
cleanup() {
	[ -n "$SSHD_PID" ] && kill "$SSHD_PID" 2>/dev/null
	rm -rf "$WORK"
}
trap cleanup EXIT

t=0 failed=0
ok() { # ok COND-EXIT-CODE DESCRIPTION
	t=$((t + 1))
	if [ "$1" = 0 ]; then echo "ok $t - $2"; else echo "not ok $t - $2"; failed=1; fi
}

# A port nothing listens on at h1's address.
addr=$(sed -n 's/^ListenAddress \(.*\):[0-9]*$/\1/p' "$DIR/h1/sshd_config")
port=$(python3 -c 'import socket,sys; s=socket.socket(); s.bind((sys.argv[1],0)); print(s.getsockname()[1])' "$addr")
old_port=$(sed -n 's/^ListenAddress .*:\([0-9]*\)$/\1/p' "$DIR/h1/sshd_config")

sed -e "s|^ListenAddress .*|ListenAddress $addr:$port|" \
	-e "s|^PidFile .*|PidFile $WORK/sshd.pid|" "$DIR/h1/sshd_config" >"$WORK/sshd_config"
echo "MaxStartups 1:100:1" >>"$WORK/sshd_config"
sed -n "s|^\[$addr\]:$old_port |[$addr]:$port |p" "$DIR/known_hosts" >"$WORK/known_hosts"

/usr/sbin/sshd -t -f "$WORK/sshd_config" >"$WORK/sshd-t.log" 2>&1
ok $? "sshd -t accepts the copy with MaxStartups 1:100:1"
/usr/sbin/sshd -f "$WORK/sshd_config" -E "$WORK/sshd.log"
ok $? "the extra sshd starts"
for _ in $(seq 50); do
	[ -s "$WORK/sshd.pid" ] && (exec 3<>"/dev/tcp/$addr/$port") 2>/dev/null && break
	sleep 0.1
done
SSHD_PID=$(cat "$WORK/sshd.pid" 2>/dev/null)

pids=()
for i in $(seq $N); do
	CPREMOTE_RELAY_VERBOSE=1 "$CPRUN" -F "$DIR/ssh_config" -p "$port" \
		-o "UserKnownHostsFile=$WORK/known_hosts" -o ConnectTimeout=60 \
		h1 echo "child $i" >"$WORK/out.$i" 2>"$WORK/err.$i" </dev/null &
	pids+=($!)
done
good=0
for i in $(seq $N); do
	wait "${pids[$((i - 1))]}" && grep -qx "child $i" "$WORK/out.$i" && good=$((good + 1))
done
[ "$good" = "$N" ]
ok $? "all $N concurrent cprun got through ($good of $N)"
drops=$(cat "$WORK"/err.* | grep -c "handshake dropped")
echo "# $drops handshakes dropped by sshd and retried"
[ "$drops" -gt 0 ]
ok $? "sshd did drop handshakes (so the retry was exercised)"
refused=$(grep -c "drop connection\|exceeded MaxStartups" "$WORK/sshd.log")
echo "# sshd's log: $refused drops"

if [ "$failed" != 0 ]; then
	for f in "$WORK"/err.*; do sed 's/^/# /' "$f" | grep -v "cpremote-relay: .*connecting\|helper ready" | head -5; done
	sed 's/^/# sshd: /' "$WORK/sshd.log" | tail -20
fi
echo "1..$t"
exit $failed
