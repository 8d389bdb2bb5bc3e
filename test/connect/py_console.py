#!/usr/bin/env python3
"""py_console.py — a real Python console served on a Unix socket file, for
the --connect tests: Python's own code.InteractiveConsole, one per
connection (each its own variables), over socketserver's threaded
UnixStreamServer.

Usage: py_console.py DIR   makes DIR owner-only (0700) and serves
DIR/py.sock until SIGTERM; prints "listening on PATH uid UID" once ready.
Each connection's peer uid (SO_PEERCRED) is checked against ours (others
are refused) and given to its console as the variable peer_uid.
"""
import code
import os
import signal
import socket
import socketserver
import struct
import sys
import threading

_local = threading.local()


class _ThreadStdout:
    """sys.stdout for every thread: a console's thread writes to its client."""

    def __init__(self, real):
        self.real = real

    def write(self, s):
        w = getattr(_local, "wfile", None)
        if w is None:
            return self.real.write(s)
        w.write(s.encode())
        w.flush()
        return len(s)

    def flush(self):
        w = getattr(_local, "wfile", None)
        (w or self.real).flush()


class SocketConsole(code.InteractiveConsole):
    def __init__(self, rfile, wfile, local_vars):
        super().__init__(locals=local_vars)
        self.rfile, self.wfile = rfile, wfile

    def raw_input(self, prompt=""):
        self.write(prompt)
        line = self.rfile.readline()
        if not line:
            raise EOFError
        return line.decode(errors="replace").rstrip("\n")

    def write(self, data):
        self.wfile.write(data.encode())
        self.wfile.flush()


class Handler(socketserver.StreamRequestHandler):
    def handle(self):
        creds = self.request.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
        pid, uid, gid = struct.unpack("3i", creds)
        if uid != os.getuid():
            self.wfile.write(b"refused: uid %d is not this console's owner\n" % uid)
            return
        _local.wfile = self.wfile
        try:
            SocketConsole(self.rfile, self.wfile, {"peer_uid": uid, "peer_pid": pid}).interact(
                banner="python console, peer uid %d" % uid, exitmsg="bye")
        except (BrokenPipeError, ConnectionResetError):
            pass
        finally:
            _local.wfile = None


class Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True
    request_queue_size = 32


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: py_console.py DIR")
    d = sys.argv[1]
    os.makedirs(d, mode=0o700, exist_ok=True)
    st = os.lstat(d)
    if st.st_uid != os.getuid() or st.st_mode & 0o077:
        sys.exit("py_console.py: %s: not a directory of ours with mode 0700" % d)
    path = os.path.join(d, "py.sock")
    if os.path.exists(path):
        os.unlink(path)
    sys.stdout = _ThreadStdout(sys.stdout)
    srv = Server(path, Handler)
    signal.signal(signal.SIGTERM, lambda *a: threading.Thread(target=srv.shutdown).start())
    print("listening on %s uid %d" % (path, os.getuid()), flush=True)
    try:
        srv.serve_forever()
    finally:
        srv.server_close()
        os.unlink(path)
        os.rmdir(d)


if __name__ == "__main__":
    main()
