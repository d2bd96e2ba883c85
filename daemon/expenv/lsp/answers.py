"""Answers in time: hovers, completions and code actions that wait on a network backend (an S3
listing, a PostgreSQL connect) wait at most `[lsp] answer_timeout_ms`.

Such work runs on a small pool of its own, so a hung endpoint can neither block the event loop nor
take the threads that commands, diagnostics and local answers use. Local work (files, a DuckDB or
SQLite file, the Feast registry file) runs off the loop too, without a limit: it always ends, and
a "loading" answer would only hide what a moment more gives. When time is up the request answers with
what is known (LATE), and the work goes on: its result lands in the services' caches, where the
next hover finds it. A second request for the same thing while the first is still running waits
on that same work instead of starting another.
"""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Awaitable, Callable, Hashable

log = logging.getLogger(__name__)
LATE = object()          # what `within` returns when the backend did not answer in time
DEFAULT_TIMEOUT_MS = 400
BACKEND_THREADS = 8


class AnswersInTime:
    def __init__(self) -> None:
        self._pool = ThreadPoolExecutor(max_workers=BACKEND_THREADS, thread_name_prefix="expenv-answer")
        self._running: dict[Hashable, asyncio.Future] = {}

    async def within(self, timeout_ms: int | None, key: Hashable, fn: Callable[..., Any], *args: Any) -> Any:
        """fn(*args)'s result, its exception, or LATE after `timeout_ms` (the work goes on).
        `timeout_ms` None: local work, on the loop's default pool, no limit."""
        job = self._running.get(key)
        if job is None:
            pool = self._pool if timeout_ms is not None else None
            job = asyncio.get_running_loop().run_in_executor(pool, fn, *args)
            self._running[key] = job
            job.add_done_callback(lambda done: self._finished(key, done))
        if timeout_ms is None:
            return await asyncio.shield(job)
        try:
            return await asyncio.wait_for(asyncio.shield(job), timeout_ms / 1000)
        except asyncio.TimeoutError:
            log.debug("answer for %s is late (over %d ms); it goes on in the background", key, timeout_ms)
            return LATE

    def _finished(self, key: Hashable, job: asyncio.Future) -> None:
        if self._running.get(key) is job:
            del self._running[key]
        if not job.cancelled() and job.exception() is not None:  # retrieved: a late failure is no warning
            log.debug("background answer for %s failed: %s", key, job.exception())

    def busy(self) -> int:
        """How many answers are still being worked on (late ones included)."""
        return len(self._running)


class SharedAnswers:
    """Identical requests in flight share one answer. Editors repeat a hover or a completion
    before the first is answered (a burst of them after an edit, or from several views): each
    would otherwise run the whole feature, thread hops included, for the same result. The key
    holds the document's version, so a request made after an edit never shares an answer made
    before it; and nothing is kept once the answer is sent: the next request computes its own,
    from the config and data of its time (as AnswersInTime shares the backend work in flight)."""

    def __init__(self) -> None:
        self._running: dict[Hashable, asyncio.Future] = {}

    async def shared(self, key: Hashable, answer: Callable[[], Awaitable[Any]]) -> Any:
        """`await answer()`, or the answer of the identical request already in flight."""
        job = self._running.get(key)
        if job is None:
            job = asyncio.ensure_future(answer())
            self._running[key] = job
            job.add_done_callback(lambda done: self._finished(key, done))
        return await asyncio.shield(job)   # one waiter cancelled does not cancel the others' answer

    def _finished(self, key: Hashable, job: asyncio.Future) -> None:
        if self._running.get(key) is job:
            del self._running[key]
        if not job.cancelled():
            job.exception()   # retrieved: every waiter got it already
