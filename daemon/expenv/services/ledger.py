"""The workspace ledger: one record of everything expenv starts (clusters, kernels, pipeline runs).

It lives in the workspace state folder (`.expenv/ledger.json`) so the CLI and the daemon see the
same entries and they survive restarts. Every change takes an exclusive `flock` on a side file and
replaces the JSON file atomically, so two processes never lose each other's entries and a crash
never leaves half a file.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

LEDGER_FILENAME = "ledger.json"
ENTRY_TYPES = ("cluster", "kernel", "pipeline_run")


_role = {"name": "cli"}


def set_process_role(role: str) -> None:
    """The daemon says it is the daemon (owners in the ledger say which process started what)."""
    _role["name"] = role


def process_owner(role: str = "") -> str:
    """Who started something: "cli:1234@host" / "daemon:1234@host"."""
    return f"{role or _role['name']}:{os.getpid()}@{socket.gethostname()}"


def owner_alive(owner: str) -> bool | None:
    """Whether the process named by `process_owner` still runs (None: another host, cannot tell)."""
    _, _, rest = owner.partition(":")
    pid, _, host = rest.partition("@")
    if host != socket.gethostname() or not pid.isdigit():
        return None
    from expenv.services.process_state import pid_alive

    return pid_alive(int(pid))


@dataclass
class LedgerEntry:
    id: str
    type: str                            # cluster | kernel | pipeline_run
    owner: str
    profile: str = ""
    backend: str = ""
    created_at: float = field(default_factory=time.time)
    expires_at: float | None = None
    resources: dict[str, Any] = field(default_factory=dict)
    data: dict[str, Any] = field(default_factory=dict)   # the type's own record (e.g. a ClusterHandle)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LedgerEntry:
        return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})


class Ledger:
    """Read and change `.expenv/ledger.json` safely from any number of processes."""

    def __init__(self, state_dir: Path):
        self.path = Path(state_dir) / LEDGER_FILENAME
        self._lock_path = Path(state_dir) / (LEDGER_FILENAME + ".lock")

    @contextmanager
    def _locked(self, exclusive: bool) -> Iterator[None]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self._lock_path, "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def _read(self) -> dict[str, LedgerEntry]:
        try:
            doc = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError):
            # A damaged ledger must not stop cluster commands; keep it aside for a human to read.
            aside = self.path.with_suffix(f".damaged-{int(time.time())}.json")
            try:
                os.replace(self.path, aside)
            except OSError:
                pass
            return {}
        entries = doc.get("entries", []) if isinstance(doc, dict) else []
        return {e["id"]: LedgerEntry.from_dict(e) for e in entries if isinstance(e, dict) and "id" in e}

    def _write(self, entries: dict[str, LedgerEntry]) -> None:
        doc = {"version": 1, "entries": [e.as_dict() for e in entries.values()]}
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".ledger-", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump(doc, f, indent=1)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    # --- the public operations ------------------------------------------------------------

    def entries(self, type: str | None = None) -> list[LedgerEntry]:
        with self._locked(exclusive=False):
            found = self._read()
        return [e for e in found.values() if type is None or e.type == type]

    def get(self, entry_id: str) -> LedgerEntry | None:
        with self._locked(exclusive=False):
            return self._read().get(entry_id)

    def put(self, entry: LedgerEntry) -> LedgerEntry:
        if entry.type not in ENTRY_TYPES:
            raise ValueError(f"ledger entry type must be one of {ENTRY_TYPES}, not {entry.type!r}")
        with self._locked(exclusive=True):
            found = self._read()
            found[entry.id] = entry
            self._write(found)
        return entry

    def update(self, entry_id: str, change: Callable[[LedgerEntry], LedgerEntry | None]) -> LedgerEntry | None:
        """Read-modify-write one entry under the lock; `change` returning None removes it."""
        with self._locked(exclusive=True):
            found = self._read()
            entry = found.get(entry_id)
            if entry is None:
                return None
            new = change(entry)
            if new is None:
                del found[entry_id]
            else:
                found[entry_id] = new
            self._write(found)
            return new

    def remove(self, entry_id: str) -> bool:
        with self._locked(exclusive=True):
            found = self._read()
            if found.pop(entry_id, None) is None:
                return False
            self._write(found)
            return True
