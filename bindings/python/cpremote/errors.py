"""The exceptions of cpremote: one class per error code of libcpremote.

Every failure the library reports is an ``Error`` carrying the library's
code (``.code``, a negative int: a CPREMOTE_E* value or -errno) and its
detail text (``.message``, naming the host and program).  Catch the
subclass for the cases a caller can act on, ``Error`` for the rest.
"""

import os as _os
import subprocess as _subprocess

# The codes of include/cpremote.h (enum cpremote_error).
EINVAL = -3001
ECONNECT = -3002
EHOSTKEY_UNKNOWN = -3003
EHOSTKEY_CHANGED = -3004
EAUTH = -3005
EHELPER = -3006
ENOTFOUND = -3007
ENOEXEC = -3008
ESPAWN = -3009
ECONNLOST = -3010
ERELAY = -3011
EPROTO = -3012


class Error(Exception):
    """A failure reported by libcpremote.

    ``code`` is the library's code (negative), ``message`` its detail
    text, ``errno`` the system errno when the code is -errno, else None.
    """

    def __init__(self, code, message):
        super().__init__(code, message)
        self.code = code
        self.message = message
        self.errno = -code if -4096 < code < 0 else None

    def __str__(self):
        return self.message


class InvalidArgument(Error, ValueError):
    """An option the library refused (CPREMOTE_EINVAL)."""


class ConnectError(Error):
    """The host could not be reached (CPREMOTE_ECONNECT)."""


class HostKeyError(Error):
    """The host key is unknown or changed (CPREMOTE_EHOSTKEY_*)."""


class HostKeyUnknown(HostKeyError):
    """The host key is not in known_hosts; see run(accept_new=True)."""


class HostKeyChanged(HostKeyError):
    """The host key differs from the one in known_hosts."""


class AuthError(Error):
    """Authentication was refused (CPREMOTE_EAUTH)."""


class HelperError(Error):
    """The remote helper is missing or incompatible (CPREMOTE_EHELPER)."""


class NotFound(Error):
    """The program was not found on the host (CPREMOTE_ENOTFOUND)."""


class NotExecutable(Error):
    """The program is not executable on the host (CPREMOTE_ENOEXEC)."""


class SpawnError(Error):
    """Another failure to start the program (CPREMOTE_ESPAWN)."""


class ConnectionLost(Error):
    """The connection to the host was lost while the child ran.

    The child's own status is unknown: the library never makes one up, so
    Child.wait() raises this instead of returning a code.
    """


class RelayError(Error):
    """The local relay process failed (CPREMOTE_ERELAY)."""


class ProtocolError(Error):
    """The other side broke the protocol (CPREMOTE_EPROTO)."""


class TimeoutExpired(_subprocess.TimeoutExpired):
    """Child.wait(timeout) ran out of time; the child still runs.

    A subclass of subprocess.TimeoutExpired, so code written for
    subprocess catches it unchanged.
    """


_CLASSES = {
    EINVAL: InvalidArgument,
    ECONNECT: ConnectError,
    EHOSTKEY_UNKNOWN: HostKeyUnknown,
    EHOSTKEY_CHANGED: HostKeyChanged,
    EAUTH: AuthError,
    EHELPER: HelperError,
    ENOTFOUND: NotFound,
    ENOEXEC: NotExecutable,
    ESPAWN: SpawnError,
    ECONNLOST: ConnectionLost,
    ERELAY: RelayError,
    EPROTO: ProtocolError,
}


def error_for(code, message):
    """Returns the exception (not raised) for library code CODE with MESSAGE."""
    cls = _CLASSES.get(code, Error)
    if not message:
        if -4096 < code < 0:
            message = _os.strerror(-code)
        else:
            message = "cpremote error %d" % code
    return cls(code, message)


__all__ = [name for name in dir() if not name.startswith("_")]
