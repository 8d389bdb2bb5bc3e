#!/bin/sh
# style.sh — the tree's C style as a test (TAP): every C file of the source
# tree SRC passes `clang-format --dry-run -Werror` against the top-level
# .clang-format.  Skipped when clang-format is not installed
# (scripts/setup installs it).
#
# Usage: style.sh SRC
set -u

src=${1:?usage: style.sh SRC}
if ! command -v clang-format >/dev/null 2>&1; then
	echo "1..0 # SKIP clang-format is not installed (scripts/setup installs it)"
	exit 0
fi
cd "$src" || exit 1
list=$(mktemp) || exit 1
trap 'rm -f "$list" "$list.out"' EXIT
# The files git knows of and those it would add; without git, every C file
# outside build directories.
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	git ls-files --cached --others --exclude-standard -- '*.c' '*.h' >"$list"
else
	find . \( -name 'build*' -o -name .git \) -prune -o \( -name '*.c' -o -name '*.h' \) -print >"$list"
fi
n=$(grep -c . "$list")
echo "1..1"
# One line a file that does not pass, with the first place it differs.
bad=0
while IFS= read -r f; do
	[ -f "$f" ] || continue # deleted but not yet committed
	if ! clang-format --dry-run -Werror "$f" >"$list.out" 2>&1; then
		bad=$((bad + 1))
		echo "# $f is not in the tree's style (clang-format -i $f):"
		sed -n '1,6s/^/#   /p' "$list.out"
	fi
done <"$list"
if [ "$bad" = 0 ]; then
	echo "ok 1 - the $n C files pass clang-format"
else
	echo "not ok 1 - $bad of the $n C files do not pass clang-format"
fi
