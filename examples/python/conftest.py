"""A pytest fixture that starts one child per test host, over cp-remote.

    def test_something(remote):        # runs once per host
        remote.channel.sendall(b"ping\n")

The hosts come from $CPREMOTE_EXAMPLE_HOSTS (default "h1 h2 h3"), the ssh
configuration from $CPREMOTE_SSH_CONFIG (read by cpremote.run() itself),
and the remote program is echo_child.py beside this file, run with the
hosts' python3 (here the hosts are this machine, so the path is the same;
on real hosts install it there, or point $CPREMOTE_EXAMPLE_CHILD at it).
"""

import os
import subprocess
import sys

import pytest

cpremote = pytest.importorskip("cpremote")

HOSTS = os.environ.get("CPREMOTE_EXAMPLE_HOSTS", "h1 h2 h3").split()
CHILD = os.environ.get("CPREMOTE_EXAMPLE_CHILD",
                       os.path.join(os.path.dirname(os.path.abspath(__file__)), "echo_child.py"))
PYTHON = os.environ.get("CPREMOTE_EXAMPLE_PYTHON", sys.executable)


@pytest.fixture(params=HOSTS)
def remote(request):
    """One running echo_child per host; the test gets its cpremote.Child.

    Afterwards the channel is closed and the child must end on its own
    within 30 s; one that does not is killed (the with-block ends it).
    """
    host = request.param
    with cpremote.run(host, [PYTHON, CHILD, host], stderr=subprocess.PIPE) as child:
        child.channel.settimeout(30)
        yield child
        child.channel.close()
        try:
            child.wait(timeout=30)
        except cpremote.TimeoutExpired:
            child.kill()
            raise
