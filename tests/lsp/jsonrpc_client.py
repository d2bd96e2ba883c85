"""A hand-written JSON-RPC client over a subprocess's stdio. It checks framing strictly:
every byte on the server's stdout must belong to a `Content-Length` frame."""

from __future__ import annotations

import json
import subprocess
import threading
from typing import Any


class FramingError(AssertionError):
    pass


class RawLspClient:
    def __init__(self, cmd: list[str], cwd: str | None = None, env: dict | None = None):
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, cwd=cwd, env=env)
        self.stderr_lines: list[bytes] = []
        threading.Thread(target=self._drain_stderr, daemon=True).start()
        self.received: list[dict[str, Any]] = []
        self._next_id = 0

    def _drain_stderr(self) -> None:
        for line in self.proc.stderr:
            self.stderr_lines.append(line)

    def send(self, method: str, params: Any = None, *, request: bool = True) -> int | None:
        msg: dict[str, Any] = {"jsonrpc": "2.0", "method": method}
        if params is not None:
            msg["params"] = params
        msg_id = None
        if request:
            self._next_id += 1
            msg_id = msg["id"] = self._next_id
        body = json.dumps(msg, ensure_ascii=False).encode("utf-8")
        self.proc.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        self.proc.stdin.flush()
        return msg_id

    def read_frame(self) -> dict[str, Any] | None:
        """Read exactly one frame; anything that is not a header or a body is a framing error."""
        headers: dict[str, str] = {}
        while True:
            line = self.proc.stdout.readline()
            if not line:
                if headers:
                    raise FramingError(f"EOF inside headers {headers}")
                return None
            if line == b"\r\n":
                break
            if not line.endswith(b"\r\n") or b":" not in line:
                raise FramingError(f"not a header line on stdout: {line!r}")
            name, _, value = line.decode("ascii").partition(":")
            if name.lower() not in ("content-length", "content-type"):
                raise FramingError(f"unexpected header {line!r}")
            headers[name.lower()] = value.strip()
        if "content-length" not in headers:
            raise FramingError(f"frame without Content-Length: {headers}")
        length = int(headers["content-length"])
        body = self.proc.stdout.read(length)
        if len(body) != length:
            raise FramingError(f"short body: {len(body)} of {length} bytes")
        try:
            message = json.loads(body.decode("utf-8"))
        except ValueError as exc:
            raise FramingError(f"body is not JSON: {body[:200]!r}") from exc
        self.received.append(message)
        return message

    def response(self, msg_id: int) -> dict[str, Any]:
        while True:
            message = self.read_frame()
            if message is None:
                raise AssertionError(f"stdout closed before the response to {msg_id}")
            if message.get("id") == msg_id and "method" not in message:
                return message

    def request(self, method: str, params: Any = None) -> dict[str, Any]:
        return self.response(self.send(method, params))

    def notify(self, method: str, params: Any = None) -> None:
        self.send(method, params, request=False)

    def finish(self, timeout: float = 20.0) -> int:
        """shutdown + exit, read the rest of stdout (still strictly framed), return the exit code."""
        self.request("shutdown")
        self.notify("exit")
        while self.read_frame() is not None:
            pass
        return self.proc.wait(timeout)
