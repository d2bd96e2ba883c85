"""Stopping a query another thread is running, when the user cancels (work-done progress or
`$/cancelRequest`): the service says what stops its current query, the canceller calls `cancel`."""

from __future__ import annotations

import logging
import threading
from contextlib import contextmanager
from typing import Callable, Iterator

from expenv.domain.errors import ExpenvError

log = logging.getLogger(__name__)


class Cancelled(ExpenvError):
    """The user cancelled the work; what it had started is stopped and removed."""


class QueryInterrupt:
    """`with interrupt.stopping(con.interrupt): con.execute(...)` in the worker; `cancel()` from anywhere."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._stops: list[Callable[[], None]] = []
        self.cancelled = False

    def cancel(self) -> None:
        with self._lock:
            self.cancelled = True
            stops = list(self._stops)
        for stop in stops:
            stop()

    def check(self, what: str) -> None:
        if self.cancelled:
            raise Cancelled(f"{what}: cancelled")

    @contextmanager
    def stopping(self, stop: Callable[[], None], what: str) -> Iterator[None]:
        """While inside, `cancel()` calls `stop` (a query's interrupt); a cancel before entering
        or during it raises Cancelled naming `what`, whatever error the interrupted query gave."""
        with self._lock:
            self._stops.append(stop)
        try:
            self.check(what)
            yield
        except Exception as exc:
            if self.cancelled:
                log.info("%s: cancelled, query interrupted (%s)", what, type(exc).__name__)
            self.check(what)
            raise
        finally:
            with self._lock:
                self._stops.remove(stop)
        self.check(what)

