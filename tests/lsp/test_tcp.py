"""`expenv serve --tcp`: loopback only, and no client gets in without the token."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time

import pytest


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _frame(msg: dict) -> bytes:
    body = json.dumps(msg).encode()
    return b"Content-Length: %d\r\n\r\n" % len(body) + body


def _read(sock_file) -> dict | None:
    length = None
    while True:
        line = sock_file.readline()
        if not line:
            return None
        if line == b"\r\n":
            break
        name, _, value = line.decode().partition(":")
        if name.lower() == "content-length":
            length = int(value)
    return json.loads(sock_file.read(length))


@pytest.fixture
def tcp_daemon(tmp_path):
    port = _free_port()
    env = {**os.environ, "EXPENV_TOKEN": "right-token-123"}
    proc = subprocess.Popen([sys.executable, "-m", "expenv", "serve", "--tcp", f"127.0.0.1:{port}"],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            break
        except OSError:
            time.sleep(0.1)
    else:
        proc.kill()
        pytest.fail(f"daemon did not listen: {proc.stderr.read().decode()}")
    yield port, proc
    proc.kill()
    proc.wait()


def _initialize(port: int, token: str | None, root) -> tuple[dict | None, socket.socket]:
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    f = sock.makefile("rb")
    options = {"token": token} if token is not None else {}
    sock.sendall(_frame({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "processId": None, "rootUri": root.as_uri(), "capabilities": {}, "initializationOptions": options}}))
    answer = _read(f)
    while answer is not None and "method" in answer:  # logMessage may precede the response
        answer = _read(f)
    return answer, sock


def test_wrong_or_missing_token_is_refused_and_connection_closed(tcp_daemon, make_workspace):
    port, _ = tcp_daemon
    root = make_workspace()
    for token in (None, "wrong", ""):
        answer, sock = _initialize(port, token, root)
        assert answer["error"]["message"] == "expenv: missing or wrong token"
        assert sock.recv(1) == b""  # closed
        sock.close()


def test_first_message_must_be_initialize(tcp_daemon):
    port, _ = tcp_daemon
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    sock.sendall(_frame({"jsonrpc": "2.0", "id": 5, "method": "workspace/executeCommand",
                         "params": {"command": "expenv.status"}}))
    answer = _read(sock.makefile("rb"))
    assert answer["id"] == 5 and "token" in answer["error"]["message"]
    sock.close()


def test_right_token_gets_a_full_session(tcp_daemon, make_workspace):
    port, proc = tcp_daemon
    root = make_workspace()
    answer, sock = _initialize(port, "right-token-123", root)
    assert answer["result"]["serverInfo"]["name"] == "expenv"
    f = sock.makefile("rb")
    sock.sendall(_frame({"jsonrpc": "2.0", "method": "initialized", "params": {}}))
    sock.sendall(_frame({"jsonrpc": "2.0", "id": 2, "method": "workspace/executeCommand",
                         "params": {"command": "expenv.status", "arguments": [{}]}}))
    while (msg := _read(f)) is not None and msg.get("id") != 2:
        pass
    assert msg["result"]["workspaces"][0]["config"]["project"]["name"] == "churn"
    sock.sendall(_frame({"jsonrpc": "2.0", "id": 3, "method": "shutdown"}))
    sock.sendall(_frame({"jsonrpc": "2.0", "method": "exit"}))
    assert proc.wait(20) == 0
    assert b"right-token-123" not in proc.stderr.read()  # the token is never logged


@pytest.mark.parametrize("host", ["0.0.0.0", "192.0.2.10", "example.org"])
def test_non_loopback_addresses_are_refused(host):
    result = subprocess.run([sys.executable, "-m", "expenv", "serve", "--tcp", f"{host}:4999"],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 2
    assert "binds loopback only" in result.stderr
