"""64 MiB through a Python Child's channel and back, SHA-256 checked on
both sides (the remote side is test/channel/binary_child)."""

import hashlib
import os
import threading

from python_tap import diag, done, eq, hosts_dir, ok, prog, ssh_config

hosts_dir()
import cpremote  # noqa: E402

SIZE = 64 << 20
CHUNK = 1 << 20

sent, back = hashlib.sha256(), hashlib.sha256()
with cpremote.run("h2", [prog("channel/binary_child"), "echo", str(SIZE)],
                  ssh_config=ssh_config()) as c:
    c.channel.settimeout(120)

    def writer():
        seed = os.urandom(CHUNK)
        for i in range(SIZE // CHUNK):
            # Every chunk different, so that a repeated or lost chunk shows.
            block = hashlib.sha256(seed + i.to_bytes(8, "big")).digest() * (CHUNK // 32)
            sent.update(block)
            c.channel.sendall(block)

    t = threading.Thread(target=writer)
    t.start()
    got = 0
    while got < SIZE:
        b = c.channel.recv(min(1 << 18, SIZE - got))
        if not b:
            break
        back.update(b)
        got += len(b)
    t.join()
    eq(got, SIZE, "64 MiB came back")
    digests = b""
    while len(digests) < 64:
        b = c.channel.recv(64 - len(digests))
        if not b:
            break
        digests += b
    eq(len(digests), 64, "the child's two digests came")
    ok(digests[:32] == sent.digest(), "the child read exactly what was sent (SHA-256)")
    ok(digests[32:] == back.digest(), "the caller read exactly what the child wrote (SHA-256)")
    ok(back.digest() == sent.digest(), "what came back is what was sent")
eq(c.returncode, 0, "binary_child exits 0")
diag("sha256 %s" % sent.hexdigest())
done()
