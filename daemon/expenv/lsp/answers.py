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
import json
import logging
import threading
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


SHAREABLE_METHODS = frozenset({"textDocument/hover", "textDocument/completion"})


class SharedRequests:
    """Identical hovers and completions in flight, shared where the frame is read. An editor's
    burst repeats the same request (several views, a mouse resting on one name): the first of
    each (the leader) is handled in full, and each identical one that arrives before the leader
    is answered (a follower) costs only its parse and, later, a copy of the leader's answer, not
    pygls' structuring, a task and a serialization of its own (a tenth of the cost).

    Identical means: same method and parameters (document, position, context), and no message
    from the client in between but requests and cancels: an edit, a notebook change, a settings
    answer or anything else the client says moves `generation` on, so a request made after it
    never shares an answer made before it. Nothing is kept once the leader is answered. A
    leader that ends with an error (cancelled, invalid, failed) gives its followers back, to be
    handled each on its own."""

    def __init__(self) -> None:
        self.generation = 0
        self._lock = threading.Lock()   # answers may be sent from pygls' worker threads
        self._followers: dict[Hashable, list[tuple[Any, dict]]] = {}   # key -> [(id, message)]
        self._leader_key: dict[Any, Hashable] = {}                       # leader id -> key
        self._follower_key: dict[Any, Hashable] = {}                     # follower id -> key
        self.redispatch: Callable[[dict], None] | None = None   # set by the connection's reader

    def changed(self) -> None:
        """The client said something that may change an answer (an edit, a setting, ...)."""
        self.generation += 1

    def follows(self, msg_id: Any, method: str, params: Any, message: dict) -> bool:
        """True when the request joins an identical one in flight (answered with it); False when
        it is to be handled in full (it leads the ones that follow it, if it can)."""
        try:
            key = (method, self.generation, json.dumps(params, sort_keys=True))
        except (TypeError, ValueError):
            return False
        with self._lock:
            if msg_id in self._leader_key or msg_id in self._follower_key:
                return False   # an id used twice: handled on its own, as pygls does
            followers = self._followers.get(key)
            if followers is None:
                self._followers[key] = []
                self._leader_key[msg_id] = key
                return False
            followers.append((msg_id, message))
            self._follower_key[msg_id] = key
            return True

    def answered(self, msg_id: Any) -> list[tuple[Any, dict]]:
        """The followers of the leader `msg_id` (now answered), which leave the registry."""
        with self._lock:
            key = self._leader_key.pop(msg_id, None)
            if key is None:
                return []
            followers = self._followers.pop(key, [])
            for follower_id, _ in followers:
                self._follower_key.pop(follower_id, None)
            return followers

    def cancel(self, msg_id: Any) -> bool:
        """Drop the follower `msg_id` (True: it was one, and is to be answered as cancelled)."""
        with self._lock:
            key = self._follower_key.pop(msg_id, None)
            if key is None:
                return False
            self._followers[key] = [f for f in self._followers.get(key, []) if f[0] != msg_id]
            return True
