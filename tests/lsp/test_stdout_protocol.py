"""stdout belongs to the protocol: nothing else may ever reach it, whatever a service does."""

from __future__ import annotations

import sys
from pathlib import Path

from tests.conftest import DAEMON_CMD, REPO
from tests.lsp.jsonrpc_client import RawLspClient


def initialize(client: RawLspClient, root: Path) -> dict:
    result = client.request("initialize", {
        "processId": None, "rootUri": root.as_uri(), "capabilities": {},
        "workspaceFolders": [{"uri": root.as_uri(), "name": root.name}],
    })
    client.notify("initialized", {})
    return result


def test_hand_written_client_gets_correctly_framed_answers(make_workspace):
    # a non-ASCII folder name: Content-Length must count bytes, not characters
    root = make_workspace("données-é", '[project]\nname = "prévision"\n')
    client = RawLspClient(DAEMON_CMD)
    result = initialize(client, root)
    assert result["result"]["serverInfo"]["name"] == "expenv"
    assert "expenv.status" in result["result"]["capabilities"]["executeCommandProvider"]["commands"]
    status = client.request("workspace/executeCommand", {"command": "expenv.status", "arguments": [{}]})
    assert status["result"]["workspaces"][0]["config"]["project"]["name"] == "prévision"
    assert client.finish() == 0


def test_only_protocol_frames_reach_stdout_while_a_service_prints_logs_and_raises(make_workspace):
    root = make_workspace()
    client = RawLspClient([sys.executable, str(REPO / "tests" / "servers" / "noisy_server.py")], cwd=str(REPO))
    initialize(client, root)
    noisy = client.request("workspace/executeCommand", {"command": "test.noise", "arguments": []})
    assert "a service raises" in noisy["error"]["message"]
    # the daemon keeps serving after the failure
    status = client.request("workspace/executeCommand", {"command": "expenv.status", "arguments": [{}]})
    assert status["result"]["version"] == "0.1.0"
    assert client.finish() == 0  # every remaining byte was read as a frame

    stderr = b"".join(client.stderr_lines)
    for stray in (b"stray print to stdout", b"stray sys.stdout write", b"stray sys.__stdout__ write",
                  b"raw write to fd 1", b"a child process writes to its stdout",
                  b"a service logs from the event loop", b"a service logs from a worker thread"):
        assert stray in stderr, stray  # it went to stderr instead of corrupting stdout
    logged = [m["params"]["message"] for m in client.received if m.get("method") == "window/logMessage"]
    assert any("a service logs from the event loop" in m for m in logged)
    assert any("a service logs from a worker thread" in m for m in logged)


def test_serve_accepts_the_stdio_flag_that_language_clients_pass(make_workspace):
    # vscode-languageclient appends --stdio to the server's arguments (found by the editor test)
    client = RawLspClient([*DAEMON_CMD, "--stdio"])
    assert initialize(client, make_workspace())["result"]["serverInfo"]["name"] == "expenv"
    assert client.finish() == 0
