#!/bin/sh
# run-orig-tests.sh — the original cp-remote's own test suite (test/ of the
# npm package, run with mocha) against this project's drop-in,
# bindings/node, on the test hosts.  Usage: run-orig-tests.sh [WORKDIR]
# (default BUILD/bindings-npm).  Exit 0 when it passes, 77 (skip) without
# test hosts, node/npm or a reachable npm registry, 1 otherwise.
#
# What is arranged, and why (the suite's own files are used unchanged):
# - WORKDIR/orig: `npm install cp-remote`, for its test/ and the versions of
#   mocha, chai, async and yargs its package.json asks for, which go into
#   WORKDIR/node_modules.
# - WORKDIR/node_modules/cp-remote is bindings/node, installed as a user
#   would (`npm install cp-remote@file:.../bindings/node`, a symlink), so
#   that require('cp-remote') is the drop-in.
# - WORKDIR/suite/test: the package's test/, copied; WORKDIR/suite/index.js
#   stands for the package root, which test_spec.js loads as require('..'):
#   it is one line, module.exports = require('cp-remote').
# - The suite names its hosts with --remote=HOST (its package.json runs it
#   with --remote=localhost).  The ssh_config given to the drop-in
#   (CPREMOTE_SSH_CONFIG) is the test hosts' own with a "Host localhost"
#   alias for h1 in front, so the suite runs as its authors run it, then
#   on three hosts (localhost, h2, h3) at once.
set -eu

SRC=$(cd "$(dirname "$0")/../.." && pwd)
WORK=${1:-$SRC/build/bindings-npm}

skip() {
	echo "SKIP: $*"
	exit 77
}

if [ -z "${CPREMOTE_TEST_DIR:-}" ] || [ ! -f "$CPREMOTE_TEST_DIR/ssh_config" ]; then
	skip "no test hosts (run scripts/test-hosts and set CPREMOTE_TEST_DIR)"
fi
command -v node >/dev/null 2>&1 || skip "node is not installed"
command -v npm >/dev/null 2>&1 || skip "npm is not installed"

mkdir -p "$WORK/orig" "$WORK/suite"
cd "$WORK"

# npm's answer on a failure: a skip when the registry cannot be reached.
npm_install() {
	if ! npm install --no-audit --no-fund --loglevel=error "$@"; then
		npm ping >/dev/null 2>&1 || skip "the npm registry cannot be reached"
		echo "npm install $* failed" >&2
		exit 1
	fi
}

# Installed once; a later run reuses it (and so needs no registry).
if [ ! -f orig/node_modules/cp-remote/test/test_spec.js ]; then
	[ -f orig/package.json ] || echo '{ "private": true }' >orig/package.json
	(cd orig && npm_install cp-remote)
fi
if [ ! -d node_modules/mocha ] || [ ! -d node_modules/chai ] || [ ! -d node_modules/async ] ||
	[ ! -d node_modules/yargs ] || [ "$(readlink -f node_modules/cp-remote)" != "$SRC/bindings/node" ]; then
	[ -f package.json ] || echo '{ "private": true }' >package.json
	# shellcheck disable=SC2046 # one word per package@range
	npm_install "cp-remote@file:$SRC/bindings/node" $(node -e '
		const d = require("./orig/node_modules/cp-remote/package.json").devDependencies;
		console.log(["mocha", "chai", "async", "yargs"].map((n) => n + "@" + d[n]).join(" "));')
fi
rm -rf suite/test
cp -R orig/node_modules/cp-remote/test suite/test
echo "module.exports = require('cp-remote');" >suite/index.js
# The remote user reads the suite's remote.js (the hosts are this machine).
chmod -R a+rX "$WORK"

{
	awk '/^Host /{keep = ($2 == "h1")} keep' "$CPREMOTE_TEST_DIR/ssh_config" |
		sed 's/^Host h1$/Host localhost/'
	echo
	cat "$CPREMOTE_TEST_DIR/ssh_config"
} >ssh_config
export CPREMOTE_SSH_CONFIG="$WORK/ssh_config"

ver=$(node -p 'require("./orig/node_modules/cp-remote/package.json").version')
echo "# cp-remote $ver's own suite (mocha) against $SRC/bindings/node"
status=0
for hosts in "--remote=localhost" "--remote=localhost --remote=h2 --remote=h3"; do
	echo "# mocha suite/test/test_spec.js $hosts"
	# shellcheck disable=SC2086 # $hosts is a list of words
	node_modules/.bin/mocha --reporter spec suite/test/test_spec.js $hosts || status=1
done
exit $status
