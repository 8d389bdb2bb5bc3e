#!/usr/bin/env bash
# test_installed.sh — an installed tree works wherever it is: installed
# under a temporary DESTDIR (a prefix the loader and the compiled-in relay
# path know nothing of), cprun runs a program on h1 with neither
# LD_LIBRARY_PATH nor CPREMOTE_RELAY: its RPATH finds the library, and the
# library finds the relay beside itself.  Speaks TAP.
set -u

DIR=${CPREMOTE_TEST_DIR:-}
[ -n "$DIR" ] || { echo "1..0 # SKIP no test hosts (CPREMOTE_TEST_DIR)"; exit 0; }
BUILD=${CPREMOTE_TEST_BUILD:?}/..

WORK=$(mktemp -d /tmp/cpremote-installed.XXXXXX)
trap 'rm -rf "$WORK"' EXIT

t=0 failed=0
ok() { # ok COND-EXIT-CODE DESCRIPTION
	t=$((t + 1))
	if [ "$1" = 0 ]; then echo "ok $t - $2"; else echo "not ok $t - $2"; failed=1; fi
}

meson install -C "$BUILD" --no-rebuild --quiet --destdir "$WORK/root" >"$WORK/install.log" 2>&1
ok $? "meson install into a DESTDIR"
cprun=$(find "$WORK/root" -path '*/bin/cprun' -type f | head -n 1)
ok $([ -n "$cprun" ]; echo $?) "the installed tree has bin/cprun"
relay=$(find "$WORK/root" -path '*/libexec/cpremote-relay' -type f | head -n 1)
ok $([ -n "$relay" ]; echo $?) "the relay is installed in libexec/"
readelf -d "$cprun" 2>/dev/null | grep -E 'R(UN)?PATH' | grep -q '\$ORIGIN'
ok $? "the installed cprun's RUNPATH is relative to \$ORIGIN"

out=$(env -u LD_LIBRARY_PATH -u CPREMOTE_RELAY "$cprun" -F "$DIR/ssh_config" h1 sh -c 'echo installed' 2>"$WORK/err")
rc=$?
ok $rc "the installed cprun runs without LD_LIBRARY_PATH and CPREMOTE_RELAY"
ok $([ "$out" = installed ]; echo $?) "... and the program's output arrives"
if [ "$failed" != 0 ]; then
	sed 's/^/# /' "$WORK/install.log" "$WORK/err"
fi
echo "1..$t"
exit $failed
