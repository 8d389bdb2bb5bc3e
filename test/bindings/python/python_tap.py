"""TAP for the Python binding's tests, and their access to the test hosts.

Environment (test/bindings/python/meson.build and scripts/test set it):
CPREMOTE_TEST_DIR (the hosts' directory; without it the test is skipped),
CPREMOTE_TEST_BUILD (the test build directory), PYTHONPATH (the build
tree's copy of the cpremote package).
"""

import os
import sys
import traceback

_n = 0
_failed = 0


def skip_all(why):
    print("1..0 # SKIP %s" % why, flush=True)
    sys.exit(0)


def hosts_dir():
    d = os.environ.get("CPREMOTE_TEST_DIR")
    if not d:
        skip_all("no test hosts: CPREMOTE_TEST_DIR is not set (use scripts/test)")
    return d


def ssh_config():
    return os.path.join(hosts_dir(), "ssh_config")


def test_file(name):
    return os.path.join(hosts_dir(), name)


def port():
    """The hosts' port: $CPREMOTE_TEST_PORT, else the one in DIR/env, else 2222."""
    p = os.environ.get("CPREMOTE_TEST_PORT")
    if p:
        return int(p)
    try:
        with open(os.path.join(hosts_dir(), "env")) as f:
            for line in f:
                if line.startswith("export CPREMOTE_TEST_PORT="):
                    return int(line.split("=", 1)[1])
    except OSError:
        pass
    return 2222


def prog(relpath):
    """A test program built under test/, e.g. prog("channel/binary_child")."""
    return os.path.join(os.environ["CPREMOTE_TEST_BUILD"], relpath)


def diag(msg):
    for line in str(msg).splitlines() or [""]:
        print("# " + line, flush=True)


def ok(cond, what):
    global _n, _failed
    _n += 1
    if not cond:
        _failed += 1
    print("%sok %d - %s" % ("" if cond else "not ", _n, what), flush=True)
    return bool(cond)


def eq(got, want, what):
    r = ok(got == want, what)
    if not r:
        diag("got %r, want %r" % (got, want))
    return r


def case(fn):
    """Runs one case; an exception it raises is one failed result, not the end."""
    try:
        fn()
    except Exception:
        ok(False, "%s: no exception" % fn.__name__)
        diag(traceback.format_exc())
    return fn


def done():
    print("1..%d" % _n, flush=True)
    sys.exit(1 if _failed else 0)
