"""A watcher for clients that cannot watch files for the daemon: a thread that stats the watched
files every few seconds and reports what was created, changed or deleted.

Polling, not inotify: it works the same on every file system (bind mounts into a devcontainer,
network homes) and needs no extra package. The watched set is small (configs, a Feast repo,
pipeline code), so a scan costs a few hundred `stat`s."""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path
from typing import Callable

from expenv.services.watched_files import WatchSpec

log = logging.getLogger(__name__)

POLL_SECONDS = 1.0
CREATED, CHANGED, DELETED = "created", "changed", "deleted"
SKIPPED_DIRS = {".git", ".venv", "venv", "__pycache__", ".ipynb_checkpoints", ".expenv", "node_modules",
                "site-packages", ".tox", ".mypy_cache", ".pytest_cache"}

Stamp = tuple[int, int, int]  # mtime_ns, size, inode: an atomic replace (feast apply) changes the inode


def _stamp(path: Path) -> Stamp | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_mtime_ns, st.st_size, st.st_ino


def snapshot(specs: list[WatchSpec]) -> dict[Path, Stamp]:
    """Every existing file the specs match, with its stamp."""
    out: dict[Path, Stamp] = {}
    for spec in specs:
        if spec.is_single_file:
            path = spec.base / spec.pattern
            if (stamp := _stamp(path)) is not None:
                out[path] = stamp
            continue
        for folder, dirs, names in os.walk(spec.base):
            dirs[:] = [d for d in dirs if d not in SKIPPED_DIRS]
            for name in names:
                path = Path(folder) / name
                if spec.matches(path) and (stamp := _stamp(path)) is not None:
                    out[path] = stamp
    return out


def differences(before: dict[Path, Stamp], after: dict[Path, Stamp]) -> list[tuple[Path, str]]:
    changes = [(p, DELETED) for p in before if p not in after]
    changes += [(p, CREATED if p not in before else CHANGED) for p, s in after.items() if before.get(p) != s]
    return sorted(changes)


class FilePoller:
    """Calls `on_change([(path, created|changed|deleted), ...])` from its thread when watched files change."""

    def __init__(self, on_change: Callable[[list[tuple[Path, str]]], None], interval: float = POLL_SECONDS):
        self.on_change = on_change
        self.interval = interval
        self._specs: list[WatchSpec] = []
        self._baseline: dict[Path, Stamp] | None = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def watch(self, specs: list[WatchSpec]) -> None:
        """Watch `specs` from now on. The baseline is taken here, so a change made right after this
        call is seen; files that the new specs add are the baseline, not changes."""
        specs = [s for s in specs if s.polled]
        with self._lock:
            if specs == self._specs and self._baseline is not None:
                return
        fresh = snapshot(specs)
        with self._lock:
            old = self._baseline or {}
            # a file watched before keeps its old stamp: a change not yet reported still is
            self._specs, self._baseline = specs, {p: old.get(p, s) for p, s in fresh.items()}

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="expenv-file-poller", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def scan(self) -> list[tuple[Path, str]]:
        """One pass: the changes since the last pass (or since `watch`)."""
        with self._lock:
            specs, before = self._specs, self._baseline or {}
        after = snapshot(specs)
        with self._lock:
            if specs is not self._specs:  # watch() replaced the set meanwhile: it took its own baseline
                return []
            self._baseline = after
        return differences(before, after)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                changes = self.scan()
                if changes:
                    self.on_change(changes)
            except Exception:  # noqa: BLE001 - a failed pass must not end the watching
                log.exception("expenv: watching files failed; trying again")
