"""The real `expenv serve` process over stdio, as an editor drives it, for the benchmarks."""

from __future__ import annotations

import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.lsp.jsonrpc_client import RawLspClient  # noqa: E402

DAEMON = [sys.executable, "-m", "expenv", "serve", "--log-level", "WARNING"]


class Daemon:
    def __init__(self, client: RawLspClient):
        self.client = client

    def command(self, name: str, options: dict[str, Any]) -> Any:
        answer = self.client.request("workspace/executeCommand", {"command": name, "arguments": [options]})
        if "error" in answer:
            raise RuntimeError(f"{name}: {answer['error'].get('message')}")
        return answer["result"]

    def open_python(self, path: Path, text: str) -> str:
        uri = path.as_uri()
        self.client.notify("textDocument/didOpen", {"textDocument": {
            "uri": uri, "languageId": "python", "version": 1, "text": text}})
        return uri

    def wait_for_diagnostics(self, uri: str, timeout: float = 60.0) -> None:
        """Until the daemon has published its diagnostics of `uri` (read along with cheap hovers)."""
        deadline = time.monotonic() + timeout
        while not any(m.get("method") == "textDocument/publishDiagnostics" and m["params"]["uri"] == uri
                      for m in self.client.received):
            if time.monotonic() > deadline:
                raise RuntimeError(f"no diagnostics for {uri} within {timeout:.0f} s")
            self.hover(uri, 0, 0)  # any answer carries the notifications sent before it
            time.sleep(0.05)

    def hover(self, uri: str, line: int, character: int) -> Any:
        return self.client.request("textDocument/hover", {"textDocument": {"uri": uri},
                                                          "position": {"line": line, "character": character}})["result"]


@contextmanager
def daemon(root: Path) -> Iterator[Daemon]:
    """`expenv serve` initialized on the workspace `root` (a UTF-32 client: columns are code points)."""
    client = RawLspClient(DAEMON)
    try:
        uri = root.as_uri()
        client.request("initialize", {"processId": None, "rootUri": uri,
                                      "capabilities": {"general": {"positionEncodings": ["utf-32"]}},
                                      "workspaceFolders": [{"uri": uri, "name": root.name}]})
        client.notify("initialized", {})
        yield Daemon(client)
        client.finish()
    finally:
        if client.proc.poll() is None:
            client.proc.kill()
