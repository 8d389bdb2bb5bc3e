"""The ctypes declarations of libcpremote's C API (include/cpremote.h).

The library is looked for, in order: the file named by $CPREMOTE_LIB;
the library of the build tree or installation this module came with
(_paths.LIBDIR, written by meson); ctypes.util.find_library("cpremote").
"""

import ctypes
import ctypes.util
import os

from . import _paths

SONAME = "libcpremote.so.0"

# enum cpremote_stdio_mode
STDIO_NULL = 0
STDIO_PIPE = 1
STDIO_INHERIT = 2
STDIO_FD = 3

# spawn flags
NODE = 1 << 0
ACCEPT_NEW = 1 << 1
CHANNEL_FD = 1 << 2
NO_UPLOAD = 1 << 3
NOWAIT = 1 << 4

WNOHANG = 1


class Stdio(ctypes.Structure):
    _fields_ = [("mode", ctypes.c_int), ("fd", ctypes.c_int)]


class Options(ctypes.Structure):
    """struct cpremote_options, field for field; .size says which version."""

    _fields_ = [
        ("size", ctypes.c_size_t),
        ("host", ctypes.c_char_p),
        ("user", ctypes.c_char_p),
        ("port", ctypes.c_int),
        ("identity", ctypes.c_char_p),
        ("config", ctypes.c_char_p),
        ("ssh_options", ctypes.POINTER(ctypes.c_char_p)),
        ("helper", ctypes.c_char_p),
        ("verbosity", ctypes.c_int),
        ("file", ctypes.c_char_p),
        ("argv", ctypes.POINTER(ctypes.c_char_p)),
        ("env", ctypes.POINTER(ctypes.c_char_p)),
        ("cwd", ctypes.c_char_p),
        ("stdio", Stdio * 3),
        ("channel_fd", ctypes.c_int),
        ("flags", ctypes.c_uint),
        ("ship", ctypes.c_char_p),
        # With CPREMOTE_TTY (a terminal): not used by this module yet.
        ("term", ctypes.c_char_p),
        ("termios", ctypes.c_void_p),
        ("rows", ctypes.c_ushort),
        ("cols", ctypes.c_ushort),
    ]


def _candidates():
    explicit = os.environ.get("CPREMOTE_LIB")
    if explicit:
        # The user's choice: no fallback that would hide a wrong path.
        return [explicit]
    found = []
    if _paths.LIBDIR:
        found.append(os.path.join(_paths.LIBDIR, SONAME))
    name = ctypes.util.find_library("cpremote")
    if name:
        found.append(name)
    return found


def _load():
    errors = []
    for path in _candidates():
        if os.sep in path and not os.path.exists(path):
            errors.append("%s: no such file" % path)
            continue
        try:
            return ctypes.CDLL(path, use_errno=True)
        except OSError as e:
            errors.append(str(e))
    raise ImportError("cpremote: libcpremote not found (set CPREMOTE_LIB to its path)"
                      + "".join("; " + e for e in errors))


def _declare(lib):
    vp = ctypes.c_void_p
    sigs = {
        "cpremote_run": (ctypes.c_int, [ctypes.POINTER(Options), ctypes.POINTER(vp)]),
        "cpremote_channel_fd": (ctypes.c_int, [vp]),
        "cpremote_stdio_fd": (ctypes.c_int, [vp, ctypes.c_int]),
        "cpremote_close_stdio": (ctypes.c_int, [vp, ctypes.c_int]),
        "cpremote_exit_fd": (ctypes.c_int, [vp]),
        "cpremote_pid": (ctypes.c_long, [vp]),
        "cpremote_wait": (ctypes.c_int, [vp, ctypes.POINTER(ctypes.c_int), ctypes.c_int]),
        "cpremote_exited": (ctypes.c_int, [vp, ctypes.POINTER(ctypes.c_int)]),
        "cpremote_kill": (ctypes.c_int, [vp, ctypes.c_int]),
        "cpremote_free": (None, [vp]),
        "cpremote_shutdown": (None, []),
        "cpremote_strerror": (ctypes.c_char_p, [ctypes.c_int]),
        "cpremote_errmsg": (ctypes.c_char_p, []),
        "cpremote_child_errmsg": (ctypes.c_char_p, [vp]),
    }
    for name, (res, args) in sigs.items():
        fn = getattr(lib, name)
        fn.restype = res
        fn.argtypes = args
    return lib


lib = _declare(_load())


def text(b):
    """A C string from the library as str (undecodable bytes replaced)."""
    return b.decode("utf-8", "replace") if b else ""


def strv(items):
    """A NULL-terminated char *[] of ITEMS (bytes); the caller keeps it alive."""
    arr = (ctypes.c_char_p * (len(items) + 1))()
    for i, s in enumerate(items):
        arr[i] = s
    arr[len(items)] = None
    return arr
