"""cpremote — start a program on another host over SSH with its IPC channel intact.

    import cpremote, subprocess
    with cpremote.run("h1", ["worker", "--fast"], stdout=subprocess.PIPE) as child:
        child.channel.sendall(b"job 1\\n")
        print(child.channel.recv(4096), child.stdout.read())
    print(child.returncode)          # exit code, or -N for signal N

run() returns a Child once the remote program runs; it reads like
subprocess.Popen (stdin/stdout/stderr, pid, wait, poll, communicate, kill,
terminate, send_signal, returncode, with-block) plus .channel, a connected AF_UNIX
socket.socket whose other end the remote program finds on the fd named
by its CHANNEL_FD variable.  Failures raise cpremote.Error subclasses
(NotFound, AuthError, HostKeyError, ConnectionLost, ...).

Why ctypes and not a C extension: libcpremote's API is fourteen plain
functions and one versioned struct (its .size field lets the library
accept an older caller's struct), so a ctypes mirror is small and stays
right; nothing needs compiling when the module is installed, the same
files work with any Python 3 (no per-version ABI to build against), and ctypes
releases the GIL around every call, so run() and wait() in one thread
never stall another.  The library is found through $CPREMOTE_LIB, then
beside this module (the build tree or installation meson wrote into
_paths.py), then ctypes.util.find_library("cpremote").
"""

from subprocess import DEVNULL, PIPE, STDOUT

from . import _capi, _paths
from ._child import Child, run
from .errors import (
    AuthError,
    ConnectError,
    ConnectionLost,
    Error,
    HelperError,
    HostKeyChanged,
    HostKeyError,
    HostKeyUnknown,
    InvalidArgument,
    NotExecutable,
    NotFound,
    ProtocolError,
    RelayError,
    SpawnError,
    TimeoutExpired,
)

__version__ = _paths.VERSION


def shutdown():
    """Closes every SSH connection of this process now (see cpremote_shutdown()).

    Children still running are ended on their hosts; their wait() then
    raises ConnectionLost or RelayError.  The next run() connects again.
    """
    _capi.lib.cpremote_shutdown()


__all__ = [
    "run", "Child", "shutdown", "PIPE", "DEVNULL", "STDOUT",
    "Error", "InvalidArgument", "ConnectError", "HostKeyError", "HostKeyUnknown",
    "HostKeyChanged", "AuthError", "HelperError", "NotFound", "NotExecutable",
    "SpawnError", "ConnectionLost", "RelayError", "ProtocolError", "TimeoutExpired",
]
