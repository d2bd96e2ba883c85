"""Long commands: work-done progress the user can cancel, reported from a worker thread.

The service runs in a thread (the editor never waits); `cancelled()` becomes true when the client
cancels the progress (window/workDoneProgress/cancel) or the request ($/cancelRequest), and at
that moment `interrupt` stops the query the service is running. On a cancelled request the
handler still waits for the service to clean up, then answers RequestCancelled (or the result,
when the service finished before it saw the cancel).
"""

from __future__ import annotations

import asyncio
import threading
import uuid
from typing import Any, Callable

from lsprotocol import types
from pygls.exceptions import JsonRpcRequestCancelled

from expenv.services.interrupt import QueryInterrupt


class CancellableWork:
    """`async with CancellableWork(ls, "Launching dask-local") as work: await work.run(fn, work.report, work.cancelled)`"""

    def __init__(self, ls, title: str):
        self.ls = ls
        self.title = title
        self.token = f"expenv-{uuid.uuid4().hex[:12]}"
        self._cancel = threading.Event()
        self.interrupt = QueryInterrupt()
        self._loop: asyncio.AbstractEventLoop | None = None
        window = ls.client_capabilities.window
        self._shown = bool(window and window.work_done_progress)

    async def __aenter__(self) -> CancellableWork:
        self._loop = asyncio.get_running_loop()
        if self._shown:
            await self.ls.work_done_progress.create_async(self.token)
            self.ls.work_done_progress.begin(self.token, types.WorkDoneProgressBegin(title=self.title,
                                                                                     cancellable=True))
            self.ls.work_done_progress.tokens[self.token].add_done_callback(lambda _future: self._cancelled_now())
        return self

    def _cancelled_now(self) -> None:
        self._cancel.set()
        self.interrupt.cancel()

    async def __aexit__(self, *exc: Any) -> None:
        if self._shown:
            self.ls.work_done_progress.end(self.token, types.WorkDoneProgressEnd())
            self.ls.work_done_progress.tokens.pop(self.token, None)

    def report(self, message: str) -> None:
        """Thread-safe: called by the service from its worker thread."""
        if self._shown and self._loop is not None:
            self._loop.call_soon_threadsafe(
                self.ls.work_done_progress.report, self.token, types.WorkDoneProgressReport(message=message))

    def cancelled(self) -> bool:
        future = self.ls.work_done_progress.tokens.get(self.token) if self._shown else None
        return self._cancel.is_set() or bool(future is not None and future.cancelled())

    async def run(self, fn: Callable[..., Any], *args: Any) -> Any:
        job = asyncio.ensure_future(asyncio.to_thread(fn, *args))
        try:
            result = await asyncio.shield(job)
        except asyncio.CancelledError:
            self._cancelled_now()
            await asyncio.wait([job])   # let the service remove what it started before answering
            raise
        except Exception:
            if self.cancelled():   # the service stopped because the user cancelled
                raise JsonRpcRequestCancelled(f"{self.title}: cancelled") from None
            raise
        return result   # finished before it saw the cancel: what it made is the user's (a cluster)
