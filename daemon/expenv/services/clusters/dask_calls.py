"""Calls to Dask schedulers (how many workers, their packages, since when idle), made by a helper
process.

A call needs `distributed`, whose import is about a second of CPU holding the GIL. In the daemon
that second fell in the middle of a launch, when the editor is busiest: the event loop got the
GIL only in turns and a burst of hovers took twice as long (bench/load.py). The helper
(`python -m expenv.services.clusters.dask_calls`, started on the first call, at expenv's background
priority) imports it once in its own process and answers calls over its pipes, one JSON line
each, several at a time. It ends with the process that started it: its stdin reaches EOF."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
import tempfile
import threading
from typing import Any

CALL_SECONDS = 30.0   # the helper's own limits (connect 5 s, answer 10 s) end a call well before


class SchedulerCallError(RuntimeError):
    """The scheduler did not answer (or refused) a call; the message says why."""


class _Helper:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._proc: subprocess.Popen | None = None
        self._calls: dict[int, tuple[subprocess.Popen, threading.Event, list]] = {}
        self._ids = itertools.count()

    def _process(self) -> subprocess.Popen:
        """The running helper (started when there is none); under the lock."""
        if self._proc is None or self._proc.poll() is not None:
            from expenv.services.process_state import background

            errors = tempfile.TemporaryFile()   # a file, not a pipe: what it logs can never block it
            self._proc = subprocess.Popen(background([sys.executable, "-m", __name__]), stdin=subprocess.PIPE,
                                          stdout=subprocess.PIPE, stderr=errors)
            self._proc.errors = errors
            threading.Thread(target=self._read, args=(self._proc,), name="expenv-dask-calls", daemon=True).start()
        return self._proc

    def start(self) -> None:
        with self._lock:
            self._process()

    def call(self, address: str, method: str, kwargs: dict[str, Any], timeout: float = CALL_SECONDS) -> Any:
        done, reply = threading.Event(), []
        request = json.dumps({"address": address, "method": method, "kwargs": kwargs}, default=str)
        with self._lock:
            proc = self._process()
            call_id = next(self._ids)
            self._calls[call_id] = (proc, done, reply)
            try:
                proc.stdin.write(b'{"id": %d, "call": %s}\n' % (call_id, request.encode()))
                proc.stdin.flush()
            except OSError as exc:
                self._calls.pop(call_id, None)
                raise SchedulerCallError(f"the Dask call helper is gone: {exc}") from exc
        if not done.wait(timeout):
            with self._lock:
                self._calls.pop(call_id, None)
            raise SchedulerCallError(f"the scheduler at {address} did not answer `{method}` in {timeout:.0f} s")
        if "error" in reply[0]:
            raise SchedulerCallError(reply[0]["error"])
        return reply[0].get("result")

    def _read(self, proc: subprocess.Popen) -> None:
        for line in proc.stdout:
            try:
                answer = json.loads(line)
            except ValueError:
                continue
            with self._lock:
                call = self._calls.pop(answer.get("id"), None)
            if call is not None:
                call[2].append(answer)
                call[1].set()
        with self._lock:   # the helper exited: its unanswered calls fail now, not at their time limit
            lost = [k for k, (p, _, _) in self._calls.items() if p is proc]
            calls = [self._calls.pop(k) for k in lost]
        if calls:
            message = f"the Dask call helper exited (code {proc.wait()}){_last_error(proc.errors)}"
            for _, done, reply in calls:
                reply.append({"error": message})
                done.set()
        proc.errors.close()


def _last_error(errors) -> str:
    """': <the last line the helper wrote to stderr>' (a missing `distributed` says so), or ''."""
    try:
        errors.seek(0)
        lines = errors.read().decode("utf-8", "replace").strip().splitlines()
    except (OSError, ValueError):
        return ""
    return f": {lines[-1][:300]}" if lines else ""


_HELPER = _Helper()


def start_helper() -> None:
    """Start the helper now (a launch does, so that its import overlaps the scheduler's start)."""
    _HELPER.start()


def ask_scheduler(address: str, method: str, **kwargs: Any) -> Any:
    """Call one scheduler handler (identity, versions, check_idle, broadcast...) without a full
    Client; its answer as JSON gives it (tuples as lists). SchedulerCallError when it does not answer."""
    return _HELPER.call(address, method, kwargs)


# ---- the helper process ------------------------------------------------------------------------

async def _ask(address: str, method: str, **kwargs: Any) -> Any:
    import asyncio

    from distributed.core import rpc

    remote = rpc(address, timeout=5)
    try:
        return await asyncio.wait_for(getattr(remote, method)(**kwargs), 10)
    finally:
        await remote.close_rpc()


async def _serve() -> None:
    import asyncio

    import distributed.core  # noqa: F401 - what this process is for: imported before the first call

    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    out = sys.stdout.buffer
    running: set[asyncio.Task] = set()

    async def answer(request: dict) -> None:
        call = request.get("call") or {}
        try:
            result = await _ask(call["address"], call["method"], **call.get("kwargs", {}))
            line = json.dumps({"id": request.get("id"), "result": result}, default=str)
        except Exception as exc:  # noqa: BLE001 - the caller gets every failure as its message
            error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            line = json.dumps({"id": request.get("id"), "error": error})
        out.write(line.encode() + b"\n")
        out.flush()

    while line := await reader.readline():
        try:
            request = json.loads(line)
        except ValueError:
            continue
        task = asyncio.create_task(answer(request))
        running.add(task)
        task.add_done_callback(running.discard)


if __name__ == "__main__":
    import asyncio

    asyncio.run(_serve())
