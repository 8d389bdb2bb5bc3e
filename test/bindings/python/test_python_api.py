"""The Python binding against the real test hosts: every method of Child,
exit codes, signals, stdio as subprocess, the channel, the errors."""

import ctypes
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

from python_tap import case, diag, done, eq, hosts_dir, ok, port, ssh_config, test_file

hosts_dir()
import cpremote  # noqa: E402  (after the skip: the module needs no hosts, the test does)
from cpremote import _capi, _paths  # noqa: E402

CFG = ssh_config()


def run(argv, host="h1", **kw):
    kw.setdefault("ssh_config", CFG)
    return cpremote.run(host, argv, **kw)


@case
def ctypes_mirror():
    eq(ctypes.sizeof(_capi.Options), _paths.OPTIONS_SIZE, "ctypes Options has the C struct's size")
    eq(_capi.Options.flags.offset, _paths.FLAGS_OFFSET, "ctypes Options.flags at the C offset")


@case
def ship():
    with tempfile.NamedTemporaryFile("w", suffix=".sh", delete=False) as f:
        f.write("#!/bin/sh\necho \"shipped $0 $1\"\n")
    try:
        os.chmod(f.name, 0o755)
        for n in (1, 2):
            c = run(["check", "arg%d" % n], ship=f.name, stdout=subprocess.PIPE)
            out = c.stdout.read()
            eq(c.wait(), 0, "ship=: run %d exits 0" % n)
            ok(out.startswith(b"shipped /") and b"cpremote-ship-" in out and out.endswith(b" arg%d\n" % n),
               "ship=: run %d runs the cached copy with its argument: %r" % (n, out))
            c.close()
    finally:
        os.unlink(f.name)


@case
def exit_codes():
    for code in (0, 1, 3, 255):
        with run(["sh", "-c", "exit %d" % code]) as c:
            pass
        eq(c.returncode, code, "exit %d: returncode %d" % (code, code))
    c = run("true")
    eq(c.wait(), 0, "a bare program name: wait() returns 0")
    eq(c.wait(), 0, "wait() again returns the same")
    c.close()
    c.close()
    ok(True, "close() twice is harmless")


@case
def stdio_pipes():
    c = run(["sh", "-c", "cat; echo err >&2"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE)
    c.stdin.write(b"through stdin\n")
    c.stdin.close()
    eq(c.stdout.read(), b"through stdin\n", "PIPE: stdin reaches the program, stdout comes back")
    eq(c.stderr.read(), b"err\n", "PIPE: stderr comes back apart")
    eq(c.wait(), 0, "PIPE: exit 0")
    c.close()

    c = run(["sh", "-c", "echo out; echo err >&2"], stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT)
    eq(sorted(c.stdout.read().split()), [b"err", b"out"], "stderr=STDOUT: both in stdout's pipe")
    ok(c.stderr is None, "stderr=STDOUT: no stderr pipe")
    c.wait()
    c.close()

    c = run("cat", stdin=subprocess.DEVNULL, stdout=subprocess.PIPE)
    eq(c.stdout.read(), b"", "DEVNULL stdin: cat reads end of file at once")
    eq(c.wait(), 0, "DEVNULL stdin: exit 0")
    c.close()

    with tempfile.TemporaryFile() as f:
        with run(["echo", "into a file"], stdout=f):
            pass
        f.seek(0)
        eq(f.read(), b"into a file\n", "a file object as stdout gets the output")
    with tempfile.TemporaryFile() as f:
        with run(["echo", "by fd"], stdout=f.fileno()):
            pass
        f.seek(0)
        eq(f.read(), b"by fd\n", "an int fd as stdout gets the output")


@case
def communicate():
    data = os.urandom(1 << 20)
    c = run(["sh", "-c", "cat; echo done >&2; exit 3"], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = c.communicate(data, timeout=60)
    ok(out == data, "communicate(): 1 MiB in through stdin, the same out of stdout")
    eq(err, b"done\n", "communicate(): stderr apart")
    eq(c.returncode, 3, "communicate(): waits for the code")
    c.close()
    c = run(["sh", "-c", "cat; echo fin"], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    eq(c.communicate(), (b"fin\n", None), "communicate() without input closes stdin")
    c.close()
    c = run(["sh", "-c", "echo first; exec sleep 30"], stdout=subprocess.PIPE)
    try:
        c.communicate(timeout=1)
        ok(False, "communicate(timeout=1) raises TimeoutExpired")
    except cpremote.TimeoutExpired as e:
        eq(e.output, b"first\n", "communicate(timeout=1) raises TimeoutExpired with the output so far")
    c.kill()
    eq(c.wait(10), -signal.SIGKILL, "the child still ran after the timeout")
    c.close()


@case
def env_cwd_config():
    c = run(["sh", "-c", 'echo "$FOO|$BAR"; pwd'], env={"FOO": "bar baz", "BAR": "é"},
            cwd="/tmp", stdout=subprocess.PIPE)
    out = c.stdout.read()
    c.wait()
    c.close()
    eq(out, "bar baz|é\n/tmp\n".encode(), "env adds variables, cwd sets the directory")

    os.environ["CPREMOTE_SSH_CONFIG"] = CFG
    try:
        with cpremote.run("h2", ["true"]) as c:
            pass
        eq(c.returncode, 0, "ssh_config defaults to $CPREMOTE_SSH_CONFIG")
        missing = CFG + ".missing"
        os.environ["CPREMOTE_SSH_CONFIG"] = missing
        try:
            cpremote.run("h2", ["true"]).close()
            ok(False, "a missing $CPREMOTE_SSH_CONFIG file is refused")
        except cpremote.InvalidArgument as e:
            ok(missing in str(e), "a missing $CPREMOTE_SSH_CONFIG file is refused, naming it: %s" % e)
    finally:
        del os.environ["CPREMOTE_SSH_CONFIG"]


@case
def ssh_and_spawn_options():
    # No ssh_config at all: user, port, identity and -o options say everything.
    c = cpremote.run("127.0.0.2", ["sh", "-c", 'echo "$USER|${NODE_CHANNEL_FD:-none}"'],
                     ssh_config=os.devnull, user="cprtest", port=port(),
                     identity=test_file("id_ed25519"),
                     ssh_options=["UserKnownHostsFile=" + test_file("known_hosts"),
                                  "IdentitiesOnly=yes", "BatchMode=yes"],
                     stdout=subprocess.PIPE)
    eq(c.stdout.read(), b"cprtest|none\n", "user, port, identity, ssh_options reach the host")
    c.wait()
    c.close()
    c = run(["sh", "-c", 'test "$NODE_CHANNEL_FD" = "$CHANNEL_FD"'], node=True)
    eq(c.wait(), 0, "node=True: NODE_CHANNEL_FD names the channel")
    c.close()
    with tempfile.TemporaryDirectory() as d:
        kh = os.path.join(d, "known_hosts")
        open(kh, "w").close()
        try:
            run(["true"], host="h3", ssh_options=["UserKnownHostsFile=" + kh])
            ok(False, "an empty known_hosts refuses the host")
        except cpremote.HostKeyUnknown:
            ok(True, "an empty known_hosts refuses the host")
        with run(["true"], host="h3", ssh_options=["UserKnownHostsFile=" + kh],
                 accept_new=True) as c:
            pass
        eq(c.returncode, 0, "accept_new=True: the host is accepted")
        ok(os.path.getsize(kh) > 0, "accept_new=True: its key is added to known_hosts")
    try:
        run(["true"], host="h4", helper="/nonexistent/helper")
        ok(False, "helper= names the helper on the host: a missing one raises HelperError")
    except cpremote.HelperError as e:
        ok("/nonexistent/helper" in str(e),
           "helper= names the helper on the host: a missing one raises HelperError")
    # The relay's diagnostics go to the caller's stderr: see them in a process of their own.
    r = subprocess.run([sys.executable, "-c",
                        "import cpremote, sys; c = cpremote.run('h1', 'true', ssh_config=sys.argv[1],"
                        " verbose=1); sys.exit(c.wait())", CFG],
                       capture_output=True, text=True, timeout=60)
    ok(r.returncode == 0 and "connecting" in r.stderr, "verbose=1: the relay tells what it does")


@case
def pid_and_poll():
    c = run(["sh", "-c", "echo $$; exec sleep 30"], stdout=subprocess.PIPE)
    line = c.stdout.readline()
    eq(c.pid, int(line), ".pid is the remote process id")
    # The hosts are this machine: the process is visible here.
    ok(os.path.exists("/proc/%d" % c.pid), ".pid names a live process")
    ok(c.poll() is None, "poll() is None while it runs")
    ok(c.returncode is None, "returncode is None while it runs")
    c.kill()
    eq(c.wait(5), -signal.SIGKILL, "kill(): returncode -SIGKILL")
    eq(c.poll(), -signal.SIGKILL, "poll() after the end: the returncode")
    c.kill()
    ok(True, "kill() after the end does nothing")
    c.close()


@case
def signals():
    for name, send, want in (("terminate()", lambda c: c.terminate(), -signal.SIGTERM),
                             ("send_signal(SIGINT)", lambda c: c.send_signal(signal.SIGINT),
                              -signal.SIGINT),
                             ("kill(SIGUSR1)", lambda c: c.kill(signal.SIGUSR1),
                              -signal.SIGUSR1)):
        c = run(["sleep", "30"])
        send(c)
        eq(c.wait(10), want, "%s: returncode %d" % (name, want))
        c.close()
    c = run(["sh", "-c", "kill -KILL $$"])
    eq(c.wait(10), -signal.SIGKILL, "a program killed on its host: -SIGKILL")
    c.close()


@case
def wait_timeout():
    c = run(["sleep", "30"])
    t0 = time.monotonic()
    try:
        c.wait(timeout=0.5)
        ok(False, "wait(0.5) on sleep 30 raises TimeoutExpired")
    except cpremote.TimeoutExpired as e:
        dt = time.monotonic() - t0
        ok(isinstance(e, subprocess.TimeoutExpired), "TimeoutExpired is a subprocess.TimeoutExpired")
        ok(0.45 <= dt < 5, "wait(0.5) gave up after about 0.5 s (%.2f s)" % dt)
    ok(c.poll() is None, "after the timeout the child still runs")
    try:
        c.wait(0)
        ok(False, "wait(0) raises TimeoutExpired at once")
    except cpremote.TimeoutExpired:
        ok(True, "wait(0) raises TimeoutExpired at once")
    c.kill()
    eq(c.wait(timeout=10), -signal.SIGKILL, "wait(10) returns once it is killed")
    c.close()
    c = run(["sh", "-c", "sleep 0.3; exit 4"])
    eq(c.wait(timeout=20), 4, "wait(timeout) returns the code when it comes in time")
    c.close()


@case
def wait_interrupted():
    c = run(["sleep", "30"])
    threading.Timer(0.5, os.kill, (os.getpid(), signal.SIGINT)).start()
    t0 = time.monotonic()
    try:
        c.wait()
        ok(False, "SIGINT (Ctrl-C) interrupts wait() with KeyboardInterrupt")
    except KeyboardInterrupt:
        ok(time.monotonic() - t0 < 10, "SIGINT (Ctrl-C) interrupts wait() with KeyboardInterrupt")
    ok(c.poll() is None, "the child runs on after the interrupted wait()")
    c.kill()
    eq(c.wait(10), -signal.SIGKILL, "and can be killed and waited for")
    c.close()


@case
def channel():
    c = run(["sh", "-c", 'echo hello >&"$CHANNEL_FD"; exec cat <&"$CHANNEL_FD" >&"$CHANNEL_FD"'])
    ok(isinstance(c.channel, socket.socket), ".channel is a socket.socket")
    eq((c.channel.family, c.channel.type), (socket.AF_UNIX, socket.SOCK_STREAM),
       ".channel is AF_UNIX, SOCK_STREAM")
    c.channel.settimeout(20)
    got = b""
    while not got.endswith(b"\n"):
        got += c.channel.recv(100)
    eq(got, b"hello\n", "the program's channel writes arrive")
    c.channel.sendall(b"and back")
    c.channel.shutdown(socket.SHUT_WR)
    back = b""
    while True:
        b = c.channel.recv(100)
        if not b:
            break
        back += b
    eq(back, b"and back", "the caller's writes reach the program, half-close sends EOF")
    eq(c.wait(10), 0, "the channel echo exits 0")
    c.close()

    c = run(["sh", "-c", 'cat <&"$CHANNEL_FD" >/dev/null; exit 7'])
    c.channel.close()
    eq(c.wait(20), 7, "closing .channel gives the program end of file")
    c.close()


@case
def context_manager():
    try:
        with run(["sleep", "30"]) as c:
            raise RuntimeError("boom")
    except RuntimeError:
        pass
    eq(c.returncode, -signal.SIGKILL, "with: a raising block kills the child")
    with run(["sh", "-c", "exit 5"]) as c:
        pass
    eq(c.returncode, 5, "with: leaving waits for the code")
    with run(["sh", "-c", "sleep 0.5; echo late; exit 6"], stdout=subprocess.PIPE) as c:
        pass
    eq(c.returncode, 6, "with: a closed stdout pipe does not lose the exit code")
    ok(c.channel.fileno() == -1 and c.stdout.closed, "with: channel and pipes closed after")
    try:
        c.wait()
        ok(True, "wait() after the block returns the code")
    except ValueError:
        ok(False, "wait() after the block returns the code")


@case
def errors():
    try:
        run(["/nonexistent/program"])
        ok(False, "a missing program raises NotFound")
    except cpremote.NotFound as e:
        ok(True, "a missing program raises NotFound")
        ok(isinstance(e, cpremote.Error), "NotFound is a cpremote.Error")
        eq(e.code, -3007, "NotFound.code is CPREMOTE_ENOTFOUND")
        ok("h1" in str(e) and "/nonexistent/program" in str(e),
           "the message names host and program: %s" % e)
    try:
        run(["true"], ssh_config=test_file("ssh_config.unauthorized"))
        ok(False, "a refused key raises AuthError")
    except cpremote.AuthError as e:
        ok(True, "a refused key raises AuthError (%s)" % e)
    try:
        run(["true"], ssh_options=["UserKnownHostsFile=" + test_file("known_hosts.empty")])
        ok(False, "an unknown host key raises HostKeyUnknown")
    except cpremote.HostKeyUnknown as e:
        ok(isinstance(e, cpremote.HostKeyError), "an unknown host key raises HostKeyUnknown")
    try:
        run(["true"], stdout=-7)
        ok(False, "a bad fd is refused")
    except ValueError:
        ok(True, "a bad fd is refused")
    try:
        run([])
        ok(False, "an empty argv is refused")
    except ValueError:
        ok(True, "an empty argv is refused")
    nfds = len(os.listdir("/proc/self/fd"))
    for _ in range(5):
        try:
            run(["/nonexistent/program"], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        except cpremote.NotFound:
            pass
    eq(len(os.listdir("/proc/self/fd")), nfds, "failed runs leave no fd behind")


@case
def threads():
    # A thread blocked in wait() does not hold up another child in this
    # thread: the GIL is free while it waits.
    slow = run(["sleep", "30"])
    res = []
    t = threading.Thread(target=lambda: res.append(slow.wait()))
    t.start()
    with run(["true"], host="h2") as fast:
        pass
    eq(fast.returncode, 0, "a child runs and ends while another thread waits")
    ok(t.is_alive(), "... and that thread is still waiting")
    slow.kill()
    t.join(30)
    eq(res, [-signal.SIGKILL], "the waiting thread gets the code once the child is killed")
    slow.close()


@case
def many_hosts():
    kids = [run(["sh", "-c", "exit %d" % i], host="h%d" % i) for i in (1, 2, 3)]
    eq([k.wait(30) for k in kids], [1, 2, 3], "children on h1, h2, h3 at once")
    for k in kids:
        k.close()


diag("cpremote %s from %s" % (cpremote.__version__, os.path.dirname(cpremote.__file__)))
done()
