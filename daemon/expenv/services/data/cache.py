"""Small thread-safe caches: hovers repeat, and a repeated hover must cost microseconds."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from typing import Any, Callable, Hashable, TypeVar

T = TypeVar("T")
_MISSING = object()


class LruCache:
    """Least-recently-used, with an optional time to live (for what has no cheap fingerprint)."""

    def __init__(self, size: int = 256, ttl: float | None = None, clock: Callable[[], float] = time.monotonic):
        self.size = size
        self.ttl = ttl
        self._clock = clock
        self._items: OrderedDict[Hashable, tuple[float, Any]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable, default: Any = None) -> Any:
        with self._lock:
            item = self._items.get(key, _MISSING)
            if item is _MISSING:
                return default
            stamp, value = item
            if self.ttl is not None and self._clock() - stamp > self.ttl:
                del self._items[key]
                return default
            self._items.move_to_end(key)
            return value

    def put(self, key: Hashable, value: Any) -> Any:
        with self._lock:
            self._items[key] = (self._clock(), value)
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)
        return value

    def get_or_compute(self, key: Hashable, compute: Callable[[], T]) -> T:
        value = self.get(key, _MISSING)
        if value is _MISSING:
            value = self.put(key, compute())
        return value

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
