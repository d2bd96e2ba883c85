"""`expenv serve --tcp`: the token file is the owner's alone, and a client that never sends the
token is dropped; wrong tokens are refused (tests/lsp/test_tcp.py covers loopback and refusal)."""

from __future__ import annotations

import os
import socket
import stat
import subprocess
import sys
import time

import pytest

from tests.lsp.test_tcp import _frame, _free_port, _initialize


def _start(tmp_path, token_file, env=None):
    port = _free_port()
    env = {k: v for k, v in {**os.environ, **(env or {})}.items() if k != "EXPENV_TOKEN"}
    proc = subprocess.Popen([sys.executable, "-m", "expenv", "serve", "--tcp", f"127.0.0.1:{port}",
                             "--token-file", str(token_file)], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return port, proc
        except OSError:
            time.sleep(0.1)
    proc.kill()
    pytest.fail(f"daemon did not listen: {proc.communicate()[1].decode()}")


@pytest.fixture
def started(tmp_path):
    procs = []

    def start(token_file, env=None):
        port, proc = _start(tmp_path, token_file, env)
        procs.append(proc)
        return port, proc

    yield start
    for proc in procs:
        proc.kill()
        proc.wait()


@pytest.mark.parametrize("existing", [None, 0o644, 0o666])
def test_token_file_is_owner_only_whether_new_or_not(tmp_path, started, make_workspace, existing):
    token_file = tmp_path / "tokens" / "daemon.token"
    if existing is not None:
        token_file.parent.mkdir()
        token_file.write_text("an old token that is longer than the new one, to check truncation" * 3)
        token_file.chmod(existing)
    port, _ = started(token_file)
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    token = token_file.read_text()
    answer, sock = _initialize(port, token, make_workspace())   # the file holds exactly the token
    assert answer["result"]["serverInfo"]["name"] == "expenv"
    sock.close()


def test_a_symlink_at_the_token_path_is_refused_not_followed(tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    link = tmp_path / "daemon.token"
    link.symlink_to(victim)
    result = subprocess.run([sys.executable, "-m", "expenv", "serve", "--tcp", f"127.0.0.1:{_free_port()}",
                             "--token-file", str(link)], env={k: v for k, v in os.environ.items()
                                                               if k != "EXPENV_TOKEN"},
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "cannot write the token" in result.stderr
    assert victim.read_text() == "keep me"


def _closed_within(sock: socket.socket, seconds: float) -> bool:
    """True when the daemon closes the connection (EOF) before `seconds` pass."""
    sock.settimeout(seconds)
    try:
        while sock.recv(4096):
            pass   # the refusal frame, then EOF
        return True
    except socket.timeout:
        return False


@pytest.mark.parametrize("sends", [b"", b"Content-Length: 200\r\n\r\n{\"jsonrpc\": ", b"Content-Len"])
def test_a_client_that_does_not_authenticate_is_dropped(tmp_path, started, sends):
    port, proc = started(tmp_path / "t.token")
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    sock.sendall(sends)
    assert _closed_within(sock, 30), "an idle unauthenticated client kept its connection"
    sock.close()
    # and the daemon still takes a real client afterwards
    answer, good = _initialize(port, (tmp_path / "t.token").read_text(), tmp_path)
    assert answer["result"]["serverInfo"]["name"] == "expenv"
    good.close()
    assert proc.poll() is None


def test_wrong_tokens_of_every_length_are_refused(tmp_path, started, make_workspace):
    port, _ = started(tmp_path / "t.token")
    right = (tmp_path / "t.token").read_text()
    root = make_workspace()
    for wrong in (right[:-1], right + "x", right[:-1] + chr(ord(right[-1]) ^ 1), "é" * len(right), 5, None):
        sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        sock.sendall(_frame({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "processId": None, "rootUri": root.as_uri(), "capabilities": {},
            "initializationOptions": {"token": wrong}}}))
        assert _closed_within(sock, 30)
        sock.close()
