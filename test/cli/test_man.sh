#!/usr/bin/env bash
# test_man.sh — the manual pages doc/cprun.1 and doc/cpremote.3: they
# lint clean (mandoc -Tlint when installed, and groff's own warnings),
# `man -l` renders them with their sections, and they are true to the
# code: every option of `cprun --help` is described in cprun(1), every
# function of include/cpremote.h in cpremote(3).  Then they are installed
# by meson into share/man.  Needs no test hosts.  Speaks TAP.
set -u
SRC=${CPREMOTE_TEST_SRC:?}/..
BUILD=${CPREMOTE_TEST_BUILD:?}/..
command -v man >/dev/null 2>&1 || { echo "1..0 # SKIP man is not installed (man-db)"; exit 0; }
WORK=$(mktemp -d /tmp/cpremote-man.XXXXXX)
trap 'rm -rf "$WORK"' EXIT

t=0 failed=0
ok() {
	t=$((t + 1))
	if [ "$1" = 0 ]; then echo "ok $t - $2"; else echo "not ok $t - $2"; failed=1; fi
}

# render PAGE: the page as man shows it, plain text (no bold, no hyphenation breaks).
render() { MANWIDTH=200 MAN_KEEP_FORMATTING= man -l "$1" 2>"$WORK/man.err" | col -b; }

check_page() { # check_page PAGE SECTION...
	local page=$1 text s
	shift
	if command -v mandoc >/dev/null 2>&1; then
		mandoc -Tlint -Wwarning "$page" >"$WORK/lint" 2>&1
		ok $? "$(basename "$page"): mandoc -Tlint finds nothing"
		sed 's/^/# /' "$WORK/lint"
	fi
	groff -mandoc -ww -z "$page" >"$WORK/lint" 2>&1
	ok $([ ! -s "$WORK/lint" ]; echo $?) "$(basename "$page"): groff warns of nothing"
	sed 's/^/# /' "$WORK/lint"
	text=$(render "$page")
	ok $([ -n "$text" ] && [ ! -s "$WORK/man.err" ]; echo $?) "$(basename "$page"): man -l renders it"
	for s in "$@"; do
		printf '%s\n' "$text" | grep -qx "$s"
		ok $? "$(basename "$page"): has the section $s"
	done
}

check_page "$SRC/doc/cprun.1" NAME SYNOPSIS DESCRIPTION ENVIRONMENT "EXIT STATUS" EXAMPLES "SEE ALSO"
check_page "$SRC/doc/cpremote.3" NAME LIBRARY SYNOPSIS DESCRIPTION "RETURN VALUES" ENVIRONMENT "SEE ALSO"

# True to the code: the options of the usage, the functions of the header.
text=$(render "$SRC/doc/cprun.1")
missing=
for o in $("$BUILD/cli/cprun" --help | grep -oE '(^|[ ,])-(-[a-z][a-z-]*|[a-zA-Z0-9])\b' | tr -d ' ,' | sort -u); do
	printf '%s\n' "$text" | grep -qE -- "(^|[^a-zA-Z-])$o([^a-zA-Z-]|\$)" || missing="$missing $o"
done
ok $([ -z "$missing" ]; echo $?) "cprun(1) describes every option of cprun --help${missing:+ (missing:$missing)}"
text=$(render "$SRC/doc/cpremote.3")
missing=
for f in $(grep -oE '\bcpremote_[a-z_]+\(' "$SRC/include/cpremote.h" | tr -d '(' | sort -u); do
	printf '%s\n' "$text" | grep -q "$f(" || missing="$missing $f"
done
ok $([ -z "$missing" ]; echo $?) "cpremote(3) describes every function of cpremote.h${missing:+ (missing:$missing)}"
missing=
for e in $(grep -oE '\bCPREMOTE_E[A-Z_]+\b' "$SRC/include/cpremote.h" | sort -u); do
	printf '%s\n' "$text" | grep -q "$e" || missing="$missing $e"
done
ok $([ -z "$missing" ]; echo $?) "cpremote(3) names every error code${missing:+ (missing:$missing)}"

# Installed by meson, and found by man through MANPATH.
meson install -C "$BUILD" --no-rebuild --quiet --destdir "$WORK/root" >"$WORK/install.log" 2>&1
ok $? "meson install into a DESTDIR"
man1=$(find "$WORK/root" -path '*/man1/cprun.1*' | head -n 1)
man3=$(find "$WORK/root" -path '*/man3/cpremote.3*' | head -n 1)
ok $([ -n "$man1" ] && [ -n "$man3" ]; echo $?) "cprun.1 and cpremote.3 are installed in share/man"
if [ -n "$man1" ]; then
	MANPATH=$(dirname "$(dirname "$man1")") MANWIDTH=80 man cprun 2>/dev/null | col -b | grep -q "^NAME"
	ok $? "man cprun finds the installed page through MANPATH"
fi
[ "$failed" = 0 ] || sed 's/^/# /' "$WORK/install.log"
echo "1..$t"
exit $failed
