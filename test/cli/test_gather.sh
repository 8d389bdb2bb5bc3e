#!/usr/bin/env bash
# test_gather.sh — cprun -H ... -b (issue 13): the hosts whose output is
# identical are gathered, each distinct output printed once under them
# (as clubak -b / dshbak -c), against the real sshd test hosts, h1..h4.
# Each host tells itself apart by its address in $SSH_CONNECTION:
#   h1, h3        the same two lines
#   h2            a different line, without a newline at the end
#   h4            nothing on stdout, a line on stderr, exit 3
# and checks: the groups, their order (first host's), no group for a host
# without output, stderr still prefixed by host, the exit status and the
# summary; a host whose output outgrows its share (64 MiB / 4 hosts) is
# written as it comes, whole; -q leaves only the groups; the summary is
# the last line.  Speaks TAP.
set -u
. "$(dirname "$0")/../shell/lib.sh"

trap 'rm -rf "$WORK"' EXIT
for h in h1 h2 h3 h4; do
	grep -q "^Host $h\$" "$CONFIG" || { echo "1..0 # SKIP needs four test hosts (CPREMOTE_TEST_HOSTS=4)"; exit 0; }
done
addr() { sed -n "/^Host $1\$/,/^Host /s/^[[:space:]]*HostName[[:space:]]*//p" "$CONFIG" | head -1; }
A2=$(addr h2) A4=$(addr h4)

SCRIPT='set -- $SSH_CONNECTION
case $3 in
'"$A2"') printf "other"; exit 0;;
'"$A4"') echo "no output here" >&2; exit 3;;
esac
echo "same 1"; echo "same 2"'

RULE=----------------
timeout -k 5 60 "$CPRUN" -F "$CONFIG" -H h1,h2,h3,h4 -b sh -c "$SCRIPT" </dev/null >"$WORK/out" 2>"$WORK/err"
rc=$?
is "$(cat "$WORK/out")" "$RULE
h1,h3 (2)
$RULE
same 1
same 2
$RULE
h2
$RULE
other" "identical outputs gathered under their hosts, each printed once, a last newline added"
is "$rc" 3 "the exit status is still the worst host's"
is "$(grep -c '^h4: no output here$' "$WORK/err")" 1 "stderr is still written prefixed by host"
grep -q "3 of 4 hosts succeeded (h4: exit 3)" "$WORK/err"
ok $? "the summary names the failed host"
ok $(! grep -q '^h[0-9]: same' "$WORK/out"; echo $?) "no line is also written prefixed"

timeout -k 5 60 "$CPRUN" -q -F "$CONFIG" -H h1,h3 -b echo alike </dev/null >"$WORK/out" 2>"$WORK/err"
is "$?:$(cat "$WORK/out")" "0:$RULE
h1,h3 (2)
$RULE
alike" "two hosts alike: one group"
is "$(cat "$WORK/err")" "" "-q: no summary"
timeout -k 5 60 "$CPRUN" -F "$CONFIG" -H h1,h3 -b echo alike </dev/null >"$WORK/both" 2>&1
is "$(tail -n 2 "$WORK/both")" "alike
cprun: 2 of 2 hosts succeeded" "on one terminal, the summary comes after the groups"

# Over its share: 16 MiB + 1 line from h2 while 4 hosts gather (64 MiB / 4).
BIG='set -- $SSH_CONNECTION; case $3 in '"$A2"') seq 1 2500000;; *) echo small;; esac'
timeout -k 5 120 "$CPRUN" -F "$CONFIG" -H h1,h2,h3,h4 -b sh -c "$BIG" </dev/null >"$WORK/out" 2>"$WORK/err"
rc=$?
is "$rc" 0 "a host over its share: still a success"
grep -q "h2: more than 16777216 bytes of output: written as it comes, not gathered" "$WORK/err"
ok $? "... said on stderr"
is "$(grep -c '^h2: ' "$WORK/out")" 2500000 "... all its lines written, prefixed"
is "$(grep '^h2: ' "$WORK/out" | sed 's/^h2: //' | cmp - <(seq 1 2500000) && echo same)" same "... whole and in order"
is "$(grep -A3 -x "h1,h3,h4 (3)" "$WORK/out" | tail -2)" "$RULE
small" "the other hosts are still gathered"

done_testing
