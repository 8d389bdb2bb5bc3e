#!/usr/bin/env bash
# test_ssh_auth.sh — keys, certificates and jump hosts as ssh(1) has them,
# each case run with cprun and with ssh on the same setup:
#   - an ssh-agent holding 7 keys the host does not accept: with
#     IdentitiesOnly (file and -o) only the IdentityFile key is offered;
#     without it the server ends with "Too many authentication failures"
#     and cprun says how many keys were refused and what to change;
#   - the right key held only by the agent (its file passphrase-protected):
#     signed through the agent, also for its key-cert.pub; the same key
#     with no agent: a clear message, no prompt;
#   - a key authorized only by a certificate of the hosts' user CA
#     (key-cert.pub beside it, CertificateFile in the file and with -o),
#     and a certificate of an untrusted CA: refused, and said so;
#   - jump hosts: two extra sshd (copies of h2 and h3 that allow
#     forwarding) as j1 and j2, aliases of a test ssh_config given with -F:
#     ProxyJump in the file, -o ProxyJump=, -J, a chain of two; each jump's
#     sshd log shows the login that carried the connection;
#   - a failing ProxyCommand: its stderr in the message, run once.
# Speaks TAP.
set -u

DIR=${CPREMOTE_TEST_DIR:-}
[ -n "$DIR" ] || { echo "1..0 # SKIP no test hosts (CPREMOTE_TEST_DIR)"; exit 0; }
[ -n "${CPRUN:-}" ] || { echo "1..0 # SKIP CPRUN not set"; exit 0; }
[ -f "$DIR/id_certonly-cert.pub" ] || { echo "1..0 # SKIP test hosts without the user CA (restart them)"; exit 0; }

WORK=$(mktemp -d /tmp/cpremote-sshauth.XXXXXX)
chmod 0755 "$WORK"
AGENT_PID= SSHD_PIDS=()
cleanup() {
	[ -n "$AGENT_PID" ] && kill "$AGENT_PID" 2>/dev/null
	for p in "${SSHD_PIDS[@]}"; do kill "$p" 2>/dev/null; done
	[ -n "${KEEP:-}" ] || rm -rf "$WORK"
}
trap cleanup EXIT
unset SSH_AUTH_SOCK SSH_AGENT_PID

t=0 failed=0
ok() { # ok COND-EXIT-CODE DESCRIPTION
	t=$((t + 1))
	if [ "$1" = 0 ]; then echo "ok $t - $2"; else echo "not ok $t - $2"; failed=1; fi
}
show() { sed 's/^/#   /' "$1"; }

addr() { sed -n 's/^ListenAddress \(.*\):[0-9]*$/\1/p' "$DIR/$1/sshd_config"; }
PORT=$(sed -n 's/^ListenAddress .*:\([0-9]*\)$/\1/p' "$DIR/h1/sshd_config")
USER_=$(sed -n 's/^[[:space:]]*User //p' "$DIR/ssh_config" | head -1)
H1=$(addr h1)

# The common lines of a Host block of the test config.
common() {
	cat <<EOF
	User $USER_
	UserKnownHostsFile $WORK/known_hosts
	GlobalKnownHostsFile /dev/null
	StrictHostKeyChecking yes
	BatchMode yes
EOF
}

# run NAME TOOL ARGS...: runs cprun or ssh with ARGS, `echo hello` on the
# host; keeps stdout, stderr, the exit code and the seconds taken in $WORK/NAME.*
run() {
	local name=$1 tool=$2 t0
	shift 2
	t0=$(date +%s)
	if [ "$tool" = cprun ]; then
		timeout 60 "$CPRUN" "$@" echo hello >"$WORK/$name.out" 2>"$WORK/$name.err" </dev/null
	else
		timeout 60 ssh "$@" echo hello >"$WORK/$name.out" 2>"$WORK/$name.err" </dev/null
	fi
	echo $? >"$WORK/$name.rc"
	echo $(($(date +%s) - t0)) >"$WORK/$name.s"
}
rc() { cat "$WORK/$1.rc"; }
said() { grep -q -- "$2" "$WORK/$1.err"; }
# works NAME DESCRIPTION: the run printed hello and exited 0.
works() {
	[ "$(rc "$1")" = 0 ] && grep -qx hello "$WORK/$1.out"
	ok $? "$2"
	[ "$(rc "$1")" = 0 ] || show "$WORK/$1.err"
}
# fails NAME DESCRIPTION: exit 255 within 20 s.
fails() {
	[ "$(rc "$1")" = 255 ] && [ "$(cat "$WORK/$1.s")" -lt 20 ]
	ok $? "$2 (exit $(rc "$1"), $(cat "$WORK/$1.s") s)"
}

cp "$DIR/known_hosts" "$WORK/known_hosts"

# ---- keys and the agent
for i in 1 2 3 4 5 6 7; do
	ssh-keygen -q -t ed25519 -N '' -C "junk $i" -f "$WORK/junk$i"
done
eval "$(ssh-agent -s -a "$WORK/agent.sock")" >/dev/null
AGENT_PID=$SSH_AGENT_PID
for i in 1 2 3 4 5 6 7; do ssh-add -q "$WORK/junk$i" 2>/dev/null; done
ssh-add -l | grep -c junk | grep -qx 7
ok $? "the agent holds 7 keys the hosts do not accept"

{
	echo "Host only"
	echo "	HostName $H1"
	echo "	Port $PORT"
	echo "	IdentityFile $DIR/id_ed25519"
	echo "	IdentitiesOnly yes"
	common
	echo "Host any"
	echo "	HostName $H1"
	echo "	Port $PORT"
	echo "	IdentityFile $DIR/id_ed25519"
	common
} >"$WORK/keys_config"

run only-ssh ssh -F "$WORK/keys_config" only
works only-ssh "ssh: IdentitiesOnly in the file, 7 junk keys in the agent: logs in"
run only cprun -F "$WORK/keys_config" only
works only "cprun: IdentitiesOnly in the file, 7 junk keys in the agent: runs"
run only-o cprun -F "$WORK/keys_config" -o IdentitiesOnly=yes any
works only-o "cprun: -o IdentitiesOnly=yes, 7 junk keys in the agent: runs"

run many-ssh ssh -F "$WORK/keys_config" any
[ "$(rc many-ssh)" = 255 ] && said many-ssh "Too many authentication failures"
ok $? "ssh: without IdentitiesOnly the server stops at the agent's junk keys"
run many cprun -F "$WORK/keys_config" any
fails many "cprun: without IdentitiesOnly: fails at once"
said many "Too many authentication failures" && said many "at key 6 of the 8" &&
	said many "IdentitiesOnly yes"
ok $? "cprun: says the server stopped at key 6 of 8 (MaxAuthTries 6), and names IdentitiesOnly"
show "$WORK/many.err"

# locked KEY NAME: a passphrase-protected copy of KEY (with its .pub and
# any -cert.pub) as $WORK/NAME, KEY itself added to the agent, and
# $WORK/NAME_config: keys_config naming the copy.
locked() {
	local f
	for f in "$1" "$1.pub" "$1-cert.pub"; do
		[ -f "$f" ] && cp "$f" "$WORK/$2${f#"$1"}"
	done
	chmod 0600 "$WORK/$2"
	ssh-keygen -q -p -N 'secret words' -f "$WORK/$2"
	ssh-add -q "$1" 2>/dev/null
	sed "s|IdentityFile $DIR/id_ed25519|IdentityFile $WORK/$2|" "$WORK/keys_config" >"$WORK/$2_config"
}

# The right key only in the agent: its file copy is passphrase-protected.
locked "$DIR/id_ed25519" id_locked
run agent-ssh ssh -F "$WORK/id_locked_config" only
works agent-ssh "ssh: the IdentityFile's key signed by the agent (8 keys there, IdentitiesOnly)"
run agent cprun -F "$WORK/id_locked_config" only
works agent "cprun: the IdentityFile's key signed by the agent through the filter"

# A certificate beside a passphrase-protected key that only the agent can use.
locked "$DIR/id_certonly" id_lockedcert
run agentcert-ssh ssh -F "$WORK/id_lockedcert_config" only
works agentcert-ssh "ssh: key-cert.pub beside a protected key held by the agent"
run agentcert cprun -F "$WORK/id_lockedcert_config" only
works agentcert "cprun: key-cert.pub beside a protected key: the agent signs for the certificate"

# The same through CertificateFile: the protected copy has no certificate beside it.
rm "$WORK/id_lockedcert-cert.pub"
run agentcertfile-ssh ssh -F "$WORK/id_lockedcert_config" -o "CertificateFile=$DIR/id_certonly-cert.pub" only
works agentcertfile-ssh "ssh: CertificateFile for a protected key held by the agent"
run agentcertfile cprun -F "$WORK/id_lockedcert_config" -o "CertificateFile=$DIR/id_certonly-cert.pub" only
works agentcertfile "cprun: CertificateFile for a protected key: the agent signs for the certificate"

# No agent: the locked key cannot be used, and nothing prompts.
run locked-ssh env -u SSH_AUTH_SOCK ssh -F "$WORK/id_locked_config" only
[ "$(rc locked-ssh)" = 255 ]
ok $? "ssh: a passphrase-protected key without an agent fails in BatchMode"
SSH_AUTH_SOCK= run locked cprun -F "$WORK/id_locked_config" only
fails locked "cprun: a passphrase-protected key without an agent: fails, no prompt"
said locked "passphrase-protected" && said locked "ssh-add"
ok $? "cprun: says the key is passphrase-protected and to add it to the agent"
show "$WORK/locked.err"
kill "$AGENT_PID" 2>/dev/null
AGENT_PID=
unset SSH_AUTH_SOCK SSH_AGENT_PID

# ---- certificates
cp "$DIR/id_certonly" "$WORK/id_bare"
cp "$DIR/id_certonly.pub" "$WORK/id_bare.pub"
chmod 0600 "$WORK/id_bare"
{
	for h in cert bare barefile bad; do
		echo "Host $h"
		echo "	HostName $H1"
		echo "	Port $PORT"
		echo "	IdentitiesOnly yes"
		case $h in
		cert) echo "	IdentityFile $DIR/id_certonly" ;;
		bare) echo "	IdentityFile $WORK/id_bare" ;;
		barefile) printf '\tIdentityFile %s\n\tCertificateFile %s\n' "$WORK/id_bare" "$DIR/id_certonly-cert.pub" ;;
		bad) echo "	IdentityFile $DIR/id_badcert" ;;
		esac
		common
	done
} >"$WORK/cert_config"
run cert-ssh ssh -F "$WORK/cert_config" cert
works cert-ssh "ssh: a key authorized only by its key-cert.pub logs in"
run cert cprun -F "$WORK/cert_config" cert
works cert "cprun: the key-cert.pub beside the key is offered"
run bare cprun -F "$WORK/cert_config" bare
fails bare "cprun: the same key without its certificate is refused"
run barefile cprun -F "$WORK/cert_config" barefile
works barefile "cprun: CertificateFile in the file"
run bare-o cprun -F "$WORK/cert_config" -o "CertificateFile=$DIR/id_certonly-cert.pub" bare
works bare-o "cprun: -o CertificateFile="
# The OpenSSH client as the transport (issue 12): the same certificate through ssh itself.
run cert-openssh cprun -F "$WORK/cert_config" openssh://cert
works cert-openssh "cprun openssh://: the key-cert.pub beside the key is offered by ssh"
run bad-ssh ssh -F "$WORK/cert_config" bad
[ "$(rc bad-ssh)" = 255 ]
ok $? "ssh: a certificate of an untrusted CA is refused"
run bad cprun -F "$WORK/cert_config" bad
fails bad "cprun: a certificate of an untrusted CA is refused"
said bad "certificate $DIR/id_badcert-cert.pub was refused" && said bad TrustedUserCAKeys
ok $? "cprun: says which certificate was refused and what to check"
show "$WORK/bad.err"

# ---- jump hosts: copies of h2 and h3 that allow forwarding, on free ports
free_port() { python3 -c 'import socket,sys; s=socket.socket(); s.bind((sys.argv[1],0)); print(s.getsockname()[1])' "$1"; }
jump_host() { # jump_host NAME HOST: an sshd like HOST's that allows -W, logging in $WORK/NAME.log
	local name=$1 a port
	a=$(addr "$2")
	port=$(free_port "$a")
	sed -e "s|^ListenAddress .*|ListenAddress $a:$port|" -e "s|^PidFile .*|PidFile $WORK/$name.pid|" \
		-e "s|^AllowTcpForwarding .*|AllowTcpForwarding yes|" "$DIR/$2/sshd_config" >"$WORK/$name.sshd_config"
	sed -n "s|^\[$a\]:$PORT |[$a]:$port |p" "$DIR/known_hosts" >>"$WORK/known_hosts"
	/usr/sbin/sshd -f "$WORK/$name.sshd_config" -E "$WORK/$name.log"
	for _ in $(seq 50); do
		[ -s "$WORK/$name.pid" ] && (exec 3<>"/dev/tcp/$a/$port") 2>/dev/null && break
		sleep 0.1
	done
	SSHD_PIDS+=("$(cat "$WORK/$name.pid")")
	printf 'Host %s\n\tHostName %s\n\tPort %s\n\tIdentityFile %s\n\tIdentitiesOnly yes\n' "$name" "$a" "$port" \
		"$DIR/id_ed25519" >>"$WORK/jump_config"
	common >>"$WORK/jump_config"
}
: >"$WORK/jump_config"
jump_host j1 h2
jump_host j2 h3
for h in target chain direct; do
	printf 'Host %s\n\tHostName %s\n\tPort %s\n\tIdentityFile %s\n\tIdentitiesOnly yes\n' "$h" "$H1" "$PORT" \
		"$DIR/id_ed25519"
	case $h in
	target) echo "	ProxyJump j1" ;;
	chain) echo "	ProxyJump j1,j2" ;;
	esac
	common
done >>"$WORK/jump_config"
logins() { grep -c "Accepted publickey" "$WORK/$1.log"; }

# ---- a host certificate (issue 12): an sshd like h2's whose host key is
# signed by a host CA, known only as @cert-authority.  OpenSSH (and so
# openssh://) verifies it; the libssh transport refuses it, saying why.
HC_ADDR=$(addr h2)
HC_PORT=$(free_port "$HC_ADDR")
ssh-keygen -q -t ed25519 -N '' -C cpremote-host-ca -f "$WORK/host_ca"
cp "$DIR/h2/ssh_host_ed25519_key.pub" "$WORK/hc_host.pub"
ssh-keygen -q -s "$WORK/host_ca" -I cpremote-hc -h -n "$HC_ADDR" "$WORK/hc_host.pub"
sed -e "s|^ListenAddress .*|ListenAddress $HC_ADDR:$HC_PORT|" -e "s|^PidFile .*|PidFile $WORK/hc.pid|" \
	"$DIR/h2/sshd_config" >"$WORK/hc.sshd_config"
echo "HostCertificate $WORK/hc_host-cert.pub" >>"$WORK/hc.sshd_config"
/usr/sbin/sshd -f "$WORK/hc.sshd_config" -E "$WORK/hc.log"
for _ in $(seq 50); do
	[ -s "$WORK/hc.pid" ] && (exec 3<>"/dev/tcp/$HC_ADDR/$HC_PORT") 2>/dev/null && break
	sleep 0.1
done
SSHD_PIDS+=("$(cat "$WORK/hc.pid")")
echo "@cert-authority [$HC_ADDR]:$HC_PORT $(cat "$WORK/host_ca.pub")" >"$WORK/known_hosts.hc"
printf 'Host hc\n\tHostName %s\n\tPort %s\n\tIdentityFile %s\n\tIdentitiesOnly yes\n' "$HC_ADDR" "$HC_PORT" \
	"$DIR/id_ed25519" >"$WORK/hc_config"
common | sed "s|UserKnownHostsFile .*|UserKnownHostsFile $WORK/known_hosts.hc|" >>"$WORK/hc_config"
run hc-ssh ssh -F "$WORK/hc_config" hc
works hc-ssh "ssh: a host known only by its host CA (@cert-authority) is verified"
run hc-openssh cprun -F "$WORK/hc_config" openssh://hc
works hc-openssh "cprun openssh://: the same host certificate is verified by ssh"
run hc-libssh cprun -F "$WORK/hc_config" hc
fails hc-libssh "cprun over libssh: the host certificate is refused"
said hc-libssh "certificates are not supported over this transport" && said hc-libssh "openssh://"
ok $? "cprun over libssh: the message says why and names openssh://"


# via NAME DESCRIPTION JUMPS...: the run worked and each jump's log has one more login.
via() {
	local name=$1 what=$2 j before
	shift 2
	works "$name" "$what"
	for j in "$@"; do
		before=$(cat "$WORK/$j.before")
		[ "$(logins "$j")" -gt "$before" ]
		ok $? "$what: $j's sshd logged the login that carried it"
	done
}
mark() { for j in j1 j2; do logins "$j" >"$WORK/$j.before"; done; }

mark; run jump-ssh ssh -F "$WORK/jump_config" target
via jump-ssh "ssh: ProxyJump j1 in the -F file" j1
mark; run jump cprun -F "$WORK/jump_config" target
via jump "cprun: ProxyJump j1 in the -F file (an alias of that file)" j1
mark; run jump-o cprun -F "$WORK/jump_config" -o ProxyJump=j2 direct
via jump-o "cprun: -o ProxyJump=j2" j2
mark; run jump-J-ssh ssh -F "$WORK/jump_config" -J j1 direct
via jump-J-ssh "ssh: -J j1" j1
mark; run jump-J cprun -F "$WORK/jump_config" -J j1 direct
via jump-J "cprun: -J j1" j1
mark; run jump-openssh cprun -F "$WORK/jump_config" openssh://target
via jump-openssh "cprun openssh://: ProxyJump j1 in the -F file" j1
mark; run jump-J-openssh cprun -F "$WORK/jump_config" -J j1 openssh://direct
via jump-J-openssh "cprun openssh://: -J j1" j1
mark; run chain-ssh ssh -F "$WORK/jump_config" chain
via chain-ssh "ssh: ProxyJump j1,j2 in the file" j1 j2
mark; run chain cprun -F "$WORK/jump_config" chain
via chain "cprun: ProxyJump j1,j2 in the file" j1 j2
mark; run chain-o cprun -F "$WORK/jump_config" -o ProxyJump=j2,j1 direct
via chain-o "cprun: -o ProxyJump=j2,j1" j2 j1
# The chain's order: j1 reached first, j2 through it (the -W to the target comes from j2).
grep -q "Accepted publickey.* from $(addr h2) " "$WORK/j2.log" 2>/dev/null ||
	grep -q "Accepted publickey" "$WORK/j2.log"
ok $? "the chain's second hop was reached"

# ---- a failing ProxyCommand
PC="sh -c 'echo run >>$WORK/pc.count; echo proxy-broken: no route to the bastion >&2; exit 3'"
run pc-ssh ssh -F "$WORK/jump_config" -o "ProxyCommand=$PC" direct
said pc-ssh "proxy-broken"
ok $? "ssh: a failing ProxyCommand's stderr is shown"
: >"$WORK/pc.count"
run pc cprun -F "$WORK/jump_config" -o "ProxyCommand=$PC" direct
fails pc "cprun: a failing ProxyCommand fails at once"
said pc "proxy-broken: no route to the bastion" && said pc ProxyCommand
ok $? "cprun: the message quotes the ProxyCommand's stderr"
show "$WORK/pc.err"
[ "$(wc -l <"$WORK/pc.count")" = 1 ]
ok $? "cprun: the ProxyCommand ran once, not retried (ran $(wc -l <"$WORK/pc.count") times)"
printf 'Host pcfile\n\tHostName %s\n\tPort %s\n\tProxyCommand %s\n' "$H1" "$PORT" "$PC" >>"$WORK/jump_config"
common >>"$WORK/jump_config"
run pcfile cprun -F "$WORK/jump_config" pcfile
fails pcfile "cprun: a failing ProxyCommand from the file fails at once"
said pcfile "proxy-broken: no route to the bastion"
ok $? "cprun: the file's ProxyCommand's stderr is quoted too"

echo "1..$t"
exit $failed
