"""The run lens over code that logs to MLflow: where it goes (the `__main__` guard, else the first
MLflow call), which runs it stands for (a pipeline file's by its path, a notebook's by runner),
and what it says: the latest run's status, key metric and age, or why there is none."""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from expenv.domain.errors import ExpenvError
from expenv.domain.tracking import TAG_PIPELINE, TAG_RUNNER, RunSummary

_LOGS = re.compile(r"\bmlflow\.(start_run|log_metric|log_metrics|log_param|log_params|autolog|sklearn\.autolog)\b")
_MAIN = re.compile(r"^if __name__ == ['\"]__main__['\"]\s*:", re.MULTILINE)
KEY_METRICS = ("auc", "roc_auc", "accuracy", "f1", "r2", "rmse", "mae", "loss")
CACHE_SECONDS = 10.0  # a lens is asked for on every edit; runs change rarely
RUNS_SEARCHED = 50


@dataclass(frozen=True)
class RunLens:
    """A lens at `line` (0-based) titled `title` that runs `command` with `arguments`."""

    line: int
    title: str
    command: str  # expenv.tracking.open | expenv.tracking.runs | expenv.status
    arguments: dict[str, Any] = field(default_factory=dict)


def lens_line(source: str) -> int | None:
    """Where the lens goes: the `__main__` guard, else the first MLflow call; None when no logging."""
    first = _LOGS.search(source)
    if first is None:
        return None
    main = _MAIN.search(source)
    return source.count("\n", 0, (main or first).start())


def key_metric(metrics: dict[str, float]) -> str:
    """The metric a reader looks for first (AUC before accuracy before loss ...), else the first by name."""
    for name in KEY_METRICS:
        if name in metrics:
            return f"{name} {metrics[name]:.4g}"
    if metrics:
        name = sorted(metrics)[0]
        return f"{name} {metrics[name]:.4g}"
    return "no metrics"


def age(start_ms: int | None, now_ms: float) -> str:
    if not start_ms:
        return ""
    minutes = int((now_ms - start_ms) / 60000)
    if minutes < 60:
        return f" · {minutes} min ago"
    return f" · {minutes // 60} h ago" if minutes < 48 * 60 else f" · {minutes // 1440} d ago"


def run_filters(root: Path, path: Path | None, in_notebook: bool) -> dict[str, str]:
    """The tags of the runs a document stands for: a notebook's runs, or a pipeline file's."""
    if in_notebook:
        return {TAG_RUNNER: "notebook"}
    if path is None:
        return {}
    try:
        return {TAG_PIPELINE: Path(path).resolve().relative_to(root).as_posix()}
    except ValueError:
        return {}


def lens_of(line: int, root: Path, runs: list[RunSummary] | None, error: str | None, now_ms: float) -> RunLens:
    """The lens for the runs found (newest first), or for why they could not be read."""
    workspace = {"workspace": str(root)}
    if error is not None:
        return RunLens(line, f"MLflow: {error}"[:120], "expenv.status", {})
    if not runs:
        return RunLens(line, "MLflow: no runs yet", "expenv.tracking.runs", workspace)
    latest = runs[0]
    title = f"MLflow: {latest.status.lower()} · {key_metric(latest.metrics)}{age(latest.start_time, now_ms)}"
    return RunLens(line, title, "expenv.tracking.open", {"run_id": latest.run_id, **workspace})


class RunLenses:
    """The run lenses of one workspace; the runs behind each are kept CACHE_SECONDS."""

    def __init__(self, tracking, root: Path):
        self.tracking, self.root = tracking, Path(root).resolve()
        self._runs: dict[str, tuple[float, list[RunSummary] | None, str | None]] = {}
        self._lock = threading.Lock()

    def lens(self, source: str, path: Path | None, in_notebook: bool) -> RunLens | None:
        """The lens for a document's text (None when it does not log to MLflow); may ask MLflow."""
        line = lens_line(source)
        if line is None:
            return None
        filters = run_filters(self.root, path, in_notebook)
        runs, error = self._latest(filters)
        return lens_of(line, self.root, runs, error, time.time() * 1000)

    def _latest(self, filters: dict[str, str]) -> tuple[list[RunSummary] | None, str | None]:
        key = repr(sorted(filters.items()))
        with self._lock:
            hit = self._runs.get(key)
        if hit and time.monotonic() - hit[0] < CACHE_SECONDS:
            return hit[1], hit[2]
        try:
            runs = [r for r in self.tracking.runs(max_results=RUNS_SEARCHED, pipeline=filters.get(TAG_PIPELINE))
                    if all(r.tags.get(k) == v for k, v in filters.items())]
            error = None
        except ExpenvError as exc:
            runs, error = None, str(exc)
        with self._lock:
            self._runs[key] = (time.monotonic(), runs, error)
        return runs, error
