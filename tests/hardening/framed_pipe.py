"""A framed-JSON client over the raw stdio pipes of `expenv serve`.

It writes bytes, not messages, so a test can send what no well-behaved client would (a wrong
Content-Length, invalid UTF-8, half a frame), and it reads stdout strictly: every byte there must
belong to a `Content-Length` frame holding JSON, else the daemon broke the protocol."""

from __future__ import annotations

import json
import queue
import subprocess
import threading
import time
from typing import Any


def frame(body: bytes) -> bytes:
    return b"Content-Length: %d\r\n\r\n" % len(body) + body


def encode(message: Any) -> bytes:
    return frame(json.dumps(message, ensure_ascii=False).encode("utf-8"))


class FramedPipe:
    """`expenv serve` over stdio; a reader thread collects the frames it sends."""

    def __init__(self, cmd: list[str], cwd: str | None = None, env: dict | None = None):
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, cwd=cwd, env=env)
        self.framing_errors: list[str] = []
        self.responses: dict[Any, list[dict]] = {}   # id -> every response with that id
        self.answered_at: dict[Any, float] = {}        # id -> time.monotonic() of its first response
        self.notifications: list[dict] = []
        self.server_requests: list[dict] = []
        self.stderr = bytearray()
        self._changed = threading.Condition()
        # One writer thread owns stdin. Were writes made by the callers themselves, a burst bigger
        # than the pipe's buffer would block the test while the reader thread, answering a server
        # request, waited for the same pipe: the daemon, blocked on a full stdout, would stop
        # reading stdin, and all three would wait forever.
        self._outbox: queue.Queue[bytes | None] = queue.Queue()
        self.write_error: OSError | None = None
        threading.Thread(target=self._write_stdin, daemon=True).start()
        threading.Thread(target=self._read_stdout, daemon=True).start()
        threading.Thread(target=self._read_stderr, daemon=True).start()

    # --- writing -----------------------------------------------------------------------------

    def write(self, data: bytes) -> None:
        """Queue bytes for stdin, in order; frames are never interleaved."""
        self._outbox.put(data)

    def _write_stdin(self) -> None:
        while (data := self._outbox.get()) is not None:
            try:
                self.proc.stdin.write(data)
                self.proc.stdin.flush()
            except OSError as exc:   # the daemon is gone: the readers report it
                self.write_error = exc
                return

    def send(self, message: Any) -> None:
        self.write(encode(message))

    def request(self, msg_id: Any, method: str, params: Any = None) -> None:
        message = {"jsonrpc": "2.0", "id": msg_id, "method": method}
        if params is not None:
            message["params"] = params
        self.send(message)

    def notify(self, method: str, params: Any = None) -> None:
        message = {"jsonrpc": "2.0", "method": method}
        if params is not None:
            message["params"] = params
        self.send(message)

    # --- reading -----------------------------------------------------------------------------

    def _read_stderr(self) -> None:
        for line in self.proc.stderr:
            self.stderr += line

    def _read_stdout(self) -> None:
        out = self.proc.stdout
        while True:
            headers: dict[str, str] = {}
            while True:
                line = out.readline()
                if not line:
                    if headers:
                        self._framing(f"EOF inside headers {headers}")
                    return self._notify_all()
                if line == b"\r\n":
                    break
                if not line.endswith(b"\r\n") or b":" not in line:
                    return self._framing(f"not a header line on stdout: {line[:200]!r}")
                name, _, value = line.decode("ascii", "replace").partition(":")
                headers[name.strip().lower()] = value.strip()
            if not headers.get("content-length", "").isdigit():
                return self._framing(f"frame without a Content-Length: {headers}")
            length = int(headers["content-length"])
            body = out.read(length)
            if len(body) != length:
                return self._framing(f"short body: {len(body)} of {length} bytes")
            try:
                message = json.loads(body.decode("utf-8"))
            except ValueError:
                return self._framing(f"body is not JSON: {body[:200]!r}")
            self._collect(message)

    def _framing(self, problem: str) -> None:
        self.framing_errors.append(problem)
        self._notify_all()

    def _notify_all(self) -> None:
        with self._changed:
            self._changed.notify_all()

    def _collect(self, message: dict) -> None:
        with self._changed:
            if "method" in message and "id" in message:
                self.server_requests.append(message)
                self._answer_server_request(message)
            elif "method" in message:
                self.notifications.append(message)
            else:
                self.responses.setdefault(message.get("id"), []).append(message)
                self.answered_at.setdefault(message.get("id"), time.monotonic())
            self._changed.notify_all()

    def _answer_server_request(self, message: dict) -> None:
        """As an editor would: accept registrations and progress tokens, decline the rest."""
        self.send({"jsonrpc": "2.0", "id": message["id"], "result": None})

    def wait_for(self, predicate, timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        with self._changed:
            while not predicate():
                left = deadline - time.monotonic()
                if left <= 0 or self.framing_errors or self.proc.poll() is not None:
                    raise AssertionError(f"{what}: not met (framing errors {self.framing_errors}, "
                                         f"exit code {self.proc.poll()})\n{self.stderr_tail()}")
                self._changed.wait(min(left, 0.5))

    def wait_responses(self, ids, timeout: float = 60.0) -> None:
        pending = set(ids)
        self.wait_for(lambda: all(i in self.responses for i in pending), timeout,
                      f"responses to {len(pending)} requests "
                      f"(missing e.g. {sorted(map(repr, pending - set(self.responses)))[:5]})")

    def stderr_tail(self, n: int = 4000) -> str:
        return bytes(self.stderr[-n:]).decode("utf-8", "replace")

    def close(self, timeout: float = 20.0) -> int | None:
        if self.proc.poll() is None:
            try:
                self.request("shutdown-final", "shutdown")
                self.wait_responses(["shutdown-final"], timeout)
                self.notify("exit")
                self._outbox.put(None)
                return self.proc.wait(timeout)
            except (AssertionError, OSError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait()
                return None
        return self.proc.returncode
