"""cpremote.run() and the Child it returns."""

import ctypes
import os
import select
import selectors
import signal
import socket
import subprocess
import threading
import time

from . import _capi
from ._capi import lib
from .errors import ConnectionLost, TimeoutExpired, error_for


def _b(s, what):
    """S (str, bytes or path) as bytes without NUL, for the C API."""
    if isinstance(s, (str, os.PathLike)):
        s = os.fsencode(s)
    if not isinstance(s, bytes):
        raise TypeError("%s must be str, bytes or a path, not %s" % (what, type(s).__name__))
    if b"\0" in s:
        raise ValueError("%s contains a NUL byte" % what)
    return s


class _Stdio:
    """The caller's side of the three streams while run() sets them up."""

    def __init__(self):
        self.modes = [(_capi.STDIO_INHERIT, -1)] * 3
        self.ours = [None, None, None]  # fds the Child keeps (pipe ends)
        self.theirs = []  # fds handed to the relay, closed once it has them

    def set(self, i, spec):
        if spec is None:
            self.modes[i] = (_capi.STDIO_INHERIT, -1)
        elif spec == subprocess.DEVNULL:
            self.modes[i] = (_capi.STDIO_NULL, -1)
        elif spec == subprocess.PIPE:
            r, w = os.pipe()  # O_CLOEXEC, as every fd Python makes
            ours, theirs = (w, r) if i == 0 else (r, w)
            self.ours[i] = ours
            self.theirs.append(theirs)
            self.modes[i] = (_capi.STDIO_FD, theirs)
        elif spec == subprocess.STDOUT:
            if i != 2:
                raise ValueError("STDOUT is only for stderr")
            mode, fd = self.modes[1]
            # The same place as stdout: its pipe end, fd 1, or /dev/null.
            self.modes[2] = (mode, fd) if mode != _capi.STDIO_INHERIT else (_capi.STDIO_FD, 1)
        elif isinstance(spec, int):
            if spec < 0:
                raise ValueError("bad file descriptor %d" % spec)
            self.modes[i] = (_capi.STDIO_FD, spec)
        elif hasattr(spec, "fileno"):
            self.modes[i] = (_capi.STDIO_FD, spec.fileno())
        else:
            raise TypeError("stdio must be None, PIPE, DEVNULL, STDOUT, an fd or a file object")

    def close_theirs(self):
        for fd in self.theirs:
            os.close(fd)
        self.theirs = []

    def close_all(self):
        self.close_theirs()
        for fd in self.ours:
            if fd is not None:
                os.close(fd)
        self.ours = [None, None, None]


def _options(host, argv, env, cwd, ssh_config, user, port, identity, ssh_options, helper,
             verbose, flags, ship=None):
    """The struct cpremote_options and the objects it points into (keep both alive)."""
    keep = []
    o = _capi.Options()
    o.size = ctypes.sizeof(_capi.Options)
    o.host = _b(host, "host")
    args = [_b(a, "argument") for a in argv]
    if not args:
        raise ValueError("argv is empty")
    o.file = args[0]
    keep.append(_capi.strv(args))
    o.argv = keep[-1]
    if env:
        pairs = []
        for k, v in env.items():
            k = _b(k, "environment name")
            if not k or b"=" in k:
                raise ValueError("bad environment variable name %r" % k)
            pairs.append(k + b"=" + _b(v, "environment value"))
        keep.append(_capi.strv(pairs))
        o.env = keep[-1]
    if ssh_options:
        keep.append(_capi.strv([_b(s, "ssh option") for s in ssh_options]))
        o.ssh_options = keep[-1]
    for field, value in (("cwd", cwd), ("config", ssh_config), ("user", user),
                         ("identity", identity), ("helper", helper), ("ship", ship)):
        if value is not None:
            setattr(o, field, _b(value, field))
    o.port = int(port or 0)
    o.verbosity = int(verbose)
    o.flags = flags
    return o, keep


def run(host, argv, *, env=None, cwd=None, stdin=None, stdout=None, stderr=None,
        ssh_config=None, user=None, port=None, identity=None, ssh_options=None,
        node=False, accept_new=False, helper=None, verbose=0, ship=None):
    """Starts ARGV on HOST over SSH and returns its Child once it runs.

    argv: the program and its arguments (argv[0] is looked up in the
    remote PATH); a single str is a program without arguments.
    env: a mapping of variables *added* to the remote login environment
    (unlike subprocess, not a replacement).  cwd: the remote working
    directory (default: the login directory).
    stdin, stdout, stderr: as subprocess: None inherits the caller's own
    stream, PIPE makes Child.stdin/.stdout/.stderr binary file objects,
    DEVNULL is the remote /dev/null, an int fd or a file object is used
    as is, and stderr=STDOUT goes where stdout goes.
    ssh_config: the ssh_config file; default $CPREMOTE_SSH_CONFIG when set
    (read by libcpremote itself), else ~/.ssh/config; one that cannot be
    opened raises InvalidArgument naming it.  user, port, identity:
    override it.  ssh_options:
    "Option=value" strings, as ssh -o.  node: also set NODE_CHANNEL_FD for
    a Node.js child.  accept_new: add an unknown host key to known_hosts.
    helper: the helper's path on the host.  verbose: 0..3, as ssh -v.
    ship: a local file (program or script) run in argv[0]'s place: it is
    uploaded into the host's program cache once while it is unchanged
    (argv[0] then only names it), as cprun --ship.

    Blocks for the SSH handshake when no connection to that destination
    is open yet (the GIL is released meanwhile).  Raises an Error subclass
    (NotFound, AuthError, HostKeyUnknown, ConnectError, ...) on failure.
    """
    if isinstance(argv, (str, bytes, os.PathLike)):
        argv = [argv]
    flags = _capi.CHANNEL_FD
    if node:
        flags |= _capi.NODE
    if accept_new:
        flags |= _capi.ACCEPT_NEW
    o, keep = _options(host, list(argv), env, cwd, ssh_config, user, port, identity,
                       ssh_options, helper, verbose, flags, ship)
    io = _Stdio()
    chan = peer = None
    handle = ctypes.c_void_p()
    try:
        for i, spec in enumerate((stdin, stdout, stderr)):
            io.set(i, spec)
        for i, (mode, fd) in enumerate(io.modes):
            o.stdio[i].mode = mode
            o.stdio[i].fd = fd
        # Our own socketpair: Python alone owns its end (the library hands
        # the other to the relay), so closing Child.channel sends EOF.
        chan, peer = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        o.channel_fd = peer.fileno()
        r = lib.cpremote_run(ctypes.byref(o), ctypes.byref(handle))
        if r < 0:
            raise error_for(r, _capi.text(lib.cpremote_errmsg()))
        # From here the Child owns the handle, the channel and our pipe ends.
        child = Child(handle, host, list(argv), chan, io.ours)
    except BaseException:
        if handle:
            lib.cpremote_free(handle)  # a running child is killed: nobody holds it
        io.close_all()
        if chan is not None:
            chan.close()
        raise
    finally:
        io.close_theirs()
        if peer is not None:
            peer.close()
        del keep
    return child


class Child:
    """A program running on another host, as subprocess.Popen is a local one.

    .channel is the caller's end of the program's channel (a connected
    AF_UNIX stream socket.socket), .stdin/.stdout/.stderr the pipes asked
    for (else None), .pid the remote process id, .returncode None until
    wait() or poll() saw the end (then the exit code, or -N for signal N).
    The handle is freed by close(), by leaving a with block, or when the
    object is collected; a child still running then is killed on its host
    (nothing is left behind), unlike subprocess.
    """

    def __init__(self, handle, host, args, channel, ours):
        self._h = handle
        self._lock = threading.Lock()
        self._lost = None
        self.host = host
        self.args = args
        self.channel = channel
        modes = ("wb", "rb", "rb")
        self.stdin, self.stdout, self.stderr = (
            open(fd, modes[i]) if fd is not None else None for i, fd in enumerate(ours))
        self.returncode = None
        self.pid = lib.cpremote_pid(handle)
        self._exit_fd = lib.cpremote_exit_fd(handle)

    def __repr__(self):
        return "<cpremote.Child host=%r args=%r pid=%r returncode=%r>" % (
            self.host, self.args, self.pid, self.returncode)

    def _handle(self):
        if self._h is None:
            raise ValueError("the Child is closed")
        return self._h

    def _reap(self):
        """Asks the library without blocking; returns the returncode or None."""
        st = ctypes.c_int(0)
        with self._lock:
            r = lib.cpremote_wait(self._handle(), ctypes.byref(st), _capi.WNOHANG)
            msg = _capi.text(lib.cpremote_child_errmsg(self._h)) if r < 0 else ""
        if r == 0:
            return None
        if r < 0:
            e = error_for(r, msg)
            if isinstance(e, ConnectionLost):
                self._lost = e
            raise e
        s = st.value
        self.returncode = -os.WTERMSIG(s) if os.WIFSIGNALED(s) else os.WEXITSTATUS(s)
        return self.returncode

    def poll(self):
        """The returncode if the child has ended, else None; never blocks.

        Raises ConnectionLost once the connection to its host is gone.
        """
        if self.returncode is not None:
            return self.returncode
        if self._lost is not None:
            raise self._lost
        return self._reap()

    def wait(self, timeout=None):
        """Waits for the child to end and returns its returncode.

        The exit code, or -N when signal N ended it.  With TIMEOUT
        (seconds) raises TimeoutExpired when it still runs by then.
        Raises ConnectionLost when the connection was lost: the child's
        status is then unknown.  Ctrl-C (KeyboardInterrupt) interrupts it.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        p = select.poll()
        p.register(self._exit_fd, select.POLLIN)
        while True:
            rc = self.poll()
            if rc is not None:
                return rc
            ms = None
            if deadline is not None:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutExpired(self.args, timeout)
                ms = max(1, int(left * 1000 + 0.999))
            # Readable at the end, at a lost connection, and at progress
            # news (the program exited but left processes behind).
            p.poll(ms)

    def communicate(self, input=None, timeout=None):
        """Writes INPUT (bytes) to stdin, reads stdout and stderr to their
        end, waits, and returns (stdout, stderr), as subprocess does.

        Each item is None for a stream that is not a pipe.  stdin is closed
        once INPUT is written (also without INPUT), so the program sees end
        of file.  With TIMEOUT raises TimeoutExpired (with the output read
        so far); unlike subprocess's, a second call does not resume.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        chunks = {}
        sel = selectors.DefaultSelector()
        try:
            if self.stdin is not None:
                try:
                    self.stdin.flush()
                except BrokenPipeError:
                    pass
                if input:
                    os.set_blocking(self.stdin.fileno(), False)
                    sel.register(self.stdin.fileno(), selectors.EVENT_WRITE, memoryview(input))
                else:
                    self.stdin.close()
            for f in (self.stdout, self.stderr):
                if f is not None:
                    chunks[f] = []
                    sel.register(f.fileno(), selectors.EVENT_READ, f)
            while sel.get_map():
                left = None
                if deadline is not None:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        raise TimeoutExpired(self.args, timeout, *self._got(chunks))
                for key, _ in sel.select(left):
                    self._pump(sel, key, chunks)
        finally:
            sel.close()
        out = self._got(chunks)
        self.wait(None if deadline is None else max(0, deadline - time.monotonic()))
        return out

    def _pump(self, sel, key, chunks):
        """One step of communicate(): writes some input or reads some output."""
        if key.events & selectors.EVENT_WRITE:
            try:
                n = os.write(key.fd, key.data[:65536])
            except BrokenPipeError:
                n = len(key.data)  # the program stopped reading: the rest is dropped
            except BlockingIOError:
                return
            rest = key.data[n:]
            if rest:
                sel.modify(key.fd, selectors.EVENT_WRITE, rest)
            else:
                sel.unregister(key.fd)
                self.stdin.close()
            return
        b = os.read(key.fd, 65536)
        if b:
            chunks[key.data].append(b)
        else:
            sel.unregister(key.fd)

    def _got(self, chunks):
        return tuple(b"".join(chunks[f]) if f in chunks else None
                     for f in (self.stdout, self.stderr))

    def send_signal(self, sig):
        """Sends signal SIG to the remote child; nothing once it has ended."""
        if self.returncode is not None or self._lost is not None:
            return
        with self._lock:
            r = lib.cpremote_kill(self._handle(), int(sig))
        if r < 0:
            raise error_for(r, "%s: kill %s: %s" % (self.host, sig,
                                                     _capi.text(lib.cpremote_strerror(r))))

    def kill(self, sig=signal.SIGKILL):
        """Sends SIG (SIGKILL by default) to the remote child."""
        self.send_signal(sig)

    def terminate(self):
        """Sends SIGTERM to the remote child."""
        self.send_signal(signal.SIGTERM)

    def close(self):
        """Closes the caller's streams and channel and frees the handle.

        A child still running is killed on its host.  Safe to call twice.
        """
        for f in (self.stdin, self.stdout, self.stderr, self.channel):
            if f is not None:
                try:
                    f.close()
                except OSError:
                    pass
        with self._lock:
            h, self._h = self._h, None
        if h is not None:
            lib.cpremote_free(h)

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        """Closes stdin, the channel and the output pipes, then waits.

        When the block raised, the child is killed first.  A lost
        connection raises ConnectionLost unless the block already raised.
        """
        try:
            for f in (self.stdin, self.channel, self.stdout, self.stderr):
                if f is not None:
                    try:
                        f.close()
                    except OSError:
                        pass
            if exc_type is not None and self.returncode is None:
                try:
                    self.kill()
                except Exception:
                    pass
            try:
                self.wait()
            except ConnectionLost:
                if exc_type is None:
                    raise
        finally:
            self.close()
        return False

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass
