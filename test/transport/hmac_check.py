#!/usr/bin/env python3
# hmac_check.py CPRUN HMAC_CHILD DEST [CPRUN OPTIONS...] — the channel check
# over one destination: cprun runs hmac_child there with a random key, this
# writes 1 MiB of random data into the child's channel (a socketpair handed
# to cprun as --channel-fd) and checks the HMAC-SHA256 it answers.  Exit 0
# when it matches.
import hashlib, hmac, os, socket, subprocess, sys

cprun, child, dest, opts = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
key, data = os.urandom(256), os.urandom(1 << 20)
a, b = socket.socketpair()
p = subprocess.Popen([cprun, *opts, "--channel-fd", str(b.fileno()), dest, child, key.hex(), str(len(data))],
                     pass_fds=[b.fileno()])
b.close()
a.sendall(data)
answer = b""
a.settimeout(60)
while not answer.endswith(b"\n"):
    chunk = a.recv(4096)
    if not chunk:
        break
    answer += chunk
rc = p.wait(60)
want = hmac.new(key, data, hashlib.sha256).hexdigest()
got = answer.split(b" ")[0].decode(errors="replace").strip()
if got != want or rc != 0:
    print(f"# {dest}: rc={rc} got {got!r} want {want!r}")
    sys.exit(1)
