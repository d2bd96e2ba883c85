"""The real `expenv serve` process, driven over stdio the way an editor drives it: it answers the
server's own requests (work-done progress creation) and keeps the progress it reports."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from tests.conftest import DAEMON_CMD
from tests.lsp.jsonrpc_client import RawLspClient


class Daemon(RawLspClient):
    def __init__(self, folder: Path, command: list[str] | None = None):
        """`command` starts `expenv serve` elsewhere (e.g. in a devcontainer, through `devcontainer
        exec`): `folder` is then that side's path of the workspace."""
        super().__init__(command or DAEMON_CMD, cwd=None if command else str(folder), env=dict(os.environ))
        self.progress: list[dict[str, Any]] = []
        init = self.request("initialize", {
            "processId": os.getpid(), "rootUri": folder.as_uri(),
            "workspaceFolders": [{"uri": folder.as_uri(), "name": folder.name}],
            "capabilities": {"window": {"workDoneProgress": True}}})
        assert "result" in init, init
        self.notify("initialized", {})

    def _answer(self, message: dict[str, Any]) -> None:
        if "method" in message and "id" in message:   # a request of the server's: progress create, ...
            result = {"applied": True} if message["method"] == "workspace/applyEdit" else None
            self._write({"jsonrpc": "2.0", "id": message["id"], "result": result})
        elif message.get("method") == "$/progress":
            self.progress.append(message["params"])

    def _write(self, body: dict[str, Any]) -> None:
        import json

        data = json.dumps(body).encode()
        self.proc.stdin.write(b"Content-Length: %d\r\n\r\n" % len(data) + data)
        self.proc.stdin.flush()

    def response(self, msg_id: int, timeout: float = 600, on_message=None) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            if time.monotonic() > deadline:
                raise AssertionError(f"no response to request {msg_id} in {timeout} s")
            message = self.read_frame()   # blocking: the daemon answers every request (pytest-timeout guards)
            if message is None:
                raise AssertionError(f"the daemon closed stdout before answering {msg_id}")
            self._answer(message)
            if on_message:
                on_message(message)
            if message.get("id") == msg_id and "method" not in message:
                return message

    def command_request(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        return self.response(self.send(method, params))

    def command(self, name: str, options: dict[str, Any], on_message=None) -> dict[str, Any]:
        """The response message of `workspace/executeCommand` (with "result" or "error")."""
        msg_id = self.send("workspace/executeCommand", {"command": name, "arguments": [options]})
        return self.response(msg_id, on_message=on_message)

    def open_python(self, path: Path, text: str) -> str:
        uri = path.as_uri()
        self.notify("textDocument/didOpen", {"textDocument": {"uri": uri, "languageId": "python", "version": 1,
                                                              "text": text}})
        return uri

    def diagnostics(self, uri: str, timeout: float = 60) -> list[dict[str, Any]]:
        """The first non-empty diagnostics published for `uri` (reading on until they come)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for message in reversed(self.received):
                if message.get("method") == "textDocument/publishDiagnostics" and \
                        message["params"]["uri"] == uri and message["params"]["diagnostics"]:
                    return message["params"]["diagnostics"]
            self.command("expenv.clusters.list", {})   # any round trip reads what came meanwhile
            time.sleep(0.5)
        raise AssertionError(f"no diagnostics for {uri} in {timeout} s")

    def kill(self) -> None:
        self.proc.kill()
        self.proc.wait(10)
