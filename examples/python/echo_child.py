#!/usr/bin/env python3
"""The remote half of the pytest example: answers each line that comes on
its channel (the fd named by CHANNEL_FD) with "HOST: LINE", until end of
file; then exits with the number of lines it answered."""

import os
import socket
import sys

chan = socket.socket(fileno=int(os.environ["CHANNEL_FD"]))
host = socket.gethostname() if len(sys.argv) < 2 else sys.argv[1]
n = 0
with chan, chan.makefile("rwb") as f:
    for line in f:
        f.write(host.encode() + b": " + line)
        f.flush()
        n += 1
sys.exit(n)
