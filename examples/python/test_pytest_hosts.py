"""The pytest example: each test runs once per host (the `remote` fixture)."""

import signal


def ask(child, line):
    child.channel.sendall(line + b"\n")
    answer = b""
    while not answer.endswith(b"\n"):
        chunk = child.channel.recv(4096)
        assert chunk, "the channel ended before the answer"
        answer += chunk
    return answer


def test_answers_on_its_channel(remote):
    assert ask(remote, b"ping") == remote.host.encode() + b": ping\n"


def test_many_messages(remote):
    for i in range(100):
        assert ask(remote, b"%d" % i).endswith(b": %d\n" % i)


def test_exit_code_counts_lines(remote):
    ask(remote, b"one")
    ask(remote, b"two")
    remote.channel.close()
    assert remote.wait(timeout=30) == 2


def test_kill(remote):
    ask(remote, b"alive")
    remote.kill()
    assert remote.wait(timeout=30) == -signal.SIGKILL
