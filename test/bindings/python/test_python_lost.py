"""A lost connection under the Python binding: sshd's process for the
connection, or the helper, gets SIGKILL while the child runs; wait(),
poll() and the with-block raise cpremote.ConnectionLost."""

import os
import signal
import subprocess
import time

from python_tap import case, diag, done, eq, hosts_dir, ok, ssh_config

hosts_dir()
import cpremote  # noqa: E402

CFG = ssh_config()


def ppid(pid):
    with open("/proc/%d/stat" % pid) as f:
        # The command may hold spaces and parentheses: the fields follow the last ')'.
        return int(f.read().rsplit(")", 1)[1].split()[1])


def gone(pid, timeout):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if not os.path.exists("/proc/%d" % pid):
            return True
        time.sleep(0.05)
    return False


def lose(host, victim):
    """Starts sleep on HOST, kills its helper or sshd session; returns (child, remote pid)."""
    c = cpremote.run(host, ["sh", "-c", "echo $$; exec sleep 60"], ssh_config=CFG,
                     stdout=subprocess.PIPE)
    pid = int(c.stdout.readline())
    helper = ppid(pid)
    target = helper if victim == "helper" else ppid(helper)
    diag("%s: child %d, helper %d, killing %s %d" % (host, pid, helper, victim, target))
    os.kill(target, signal.SIGKILL)
    return c, pid


@case
def sshd_killed():
    # h3 and h4: connections of their own, so one fault does not end the other's case.
    c, pid = lose("h3", "sshd")
    t0 = time.monotonic()
    try:
        c.wait(30)
        ok(False, "sshd killed: wait() raises ConnectionLost")
    except cpremote.ConnectionLost as e:
        ok(True, "sshd killed: wait() raises ConnectionLost (%.2f s)" % (time.monotonic() - t0))
        ok(isinstance(e, cpremote.Error), "ConnectionLost is a cpremote.Error")
        eq(e.code, -3010, "its code is CPREMOTE_ECONNLOST")
        ok("h3" in str(e), "its message names the host: %s" % e)
    except cpremote.TimeoutExpired:
        ok(False, "sshd killed: wait() raises ConnectionLost (it timed out)")
    ok(c.returncode is None, "no made-up returncode")
    for what, fn in (("poll()", c.poll), ("wait() again", c.wait)):
        try:
            fn()
            ok(False, "%s raises ConnectionLost too" % what)
        except cpremote.ConnectionLost:
            ok(True, "%s raises ConnectionLost too" % what)
    c.kill()
    ok(True, "kill() after the loss does not raise")
    c.close()
    ok(gone(pid, 30), "the remote program is gone")


@case
def helper_killed_in_with():
    try:
        with cpremote.run("h4", ["sleep", "60"], ssh_config=CFG) as c:
            helper = ppid(c.pid)
            os.kill(helper, signal.SIGKILL)
        ok(False, "helper killed: leaving the with-block raises ConnectionLost")
    except cpremote.ConnectionLost as e:
        ok(True, "helper killed: leaving the with-block raises ConnectionLost (%s)" % e)
    ok(gone(c.pid, 30), "the remote program is gone")


@case
def next_run_connects_again():
    with cpremote.run("h3", ["sh", "-c", "exit 2"], ssh_config=CFG) as c:
        pass
    eq(c.returncode, 2, "after a lost connection the next run() on the host works")


done()
