"""Where pipeline runs are recorded: an entry per run in the workspace ledger (shared by the CLI,
the daemon and the run's driver process, surviving restarts) and a folder per run under
`.expenv/pipelines/<id>/` for what is too big for the ledger: the code archive, the plan the
driver follows, and one log file per step (kept after the run)."""

from __future__ import annotations

import json
import os
import secrets
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from expenv.domain.pipelines import PipelineError, PipelineRun
from expenv.services.ledger import Ledger, LedgerEntry, process_owner

ENTRY_TYPE = "pipeline_run"


class RunStore:
    def __init__(self, state_dir: Path):
        self.state_dir = Path(state_dir)
        self.ledger = Ledger(self.state_dir)
        self.root = self.state_dir / "pipelines"

    def new_id(self, pipeline: str) -> str:
        return f"{pipeline}-{secrets.token_hex(4)}"

    def run_dir(self, run_id: str) -> Path:
        return self.root / run_id

    def log_path(self, run_id: str, step: str) -> Path:
        return self.run_dir(run_id) / "logs" / f"{step}.log"

    def cancel_marker(self, run_id: str) -> Path:
        return self.run_dir(run_id) / "cancel-requested"

    # --- records ---------------------------------------------------------------------------

    def create(self, run: PipelineRun) -> PipelineRun:
        (self.run_dir(run.id) / "logs").mkdir(parents=True, exist_ok=True)
        self.ledger.put(LedgerEntry(id=run.id, type=ENTRY_TYPE, owner=process_owner(), profile=run.pipeline,
                                    backend=run.backend, created_at=run.created_at, resources=run.resources,
                                    data=run.as_dict()))
        return run

    def save(self, run: PipelineRun) -> PipelineRun:
        def change(entry: LedgerEntry) -> LedgerEntry:
            entry.data, entry.resources = run.as_dict(), run.resources
            return entry

        if self.ledger.update(run.id, change) is None:
            self.create(run)
        return run

    def update(self, run_id: str, change: Callable[[PipelineRun], None]) -> PipelineRun:
        """Read-modify-write a run under the ledger's lock (the driver and a cancel may race)."""
        out: list[PipelineRun] = []

        def apply(entry: LedgerEntry) -> LedgerEntry:
            run = PipelineRun.from_dict(entry.data)
            change(run)
            entry.data, entry.resources = run.as_dict(), run.resources
            out.append(run)
            return entry

        if self.ledger.update(run_id, apply) is None:
            raise PipelineError(f"no pipeline run {run_id!r} in {self.state_dir}")
        return out[0]

    def get(self, run_id: str) -> PipelineRun:
        """A run by id, or by a unique prefix of one."""
        runs = {e.id: e for e in self.ledger.entries(ENTRY_TYPE)}
        if run_id in runs:
            return PipelineRun.from_dict(runs[run_id].data)
        matches = [i for i in runs if i.startswith(run_id)] if run_id else []
        if len(matches) == 1:
            return PipelineRun.from_dict(runs[matches[0]].data)
        if matches:
            raise PipelineError(f"run id {run_id!r} is ambiguous: {', '.join(sorted(matches))}")
        raise PipelineError(f"no pipeline run {run_id!r} (see `expenv pipeline ls`)")

    def all(self) -> list[PipelineRun]:
        runs = [PipelineRun.from_dict(e.data) for e in self.ledger.entries(ENTRY_TYPE)]
        return sorted(runs, key=lambda r: r.created_at, reverse=True)

    # --- the plan a driver follows -----------------------------------------------------------

    def write_json(self, run_id: str, name: str, data: Any) -> Path:
        path = self.run_dir(run_id) / name
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{name}-")
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(data, f, indent=1, default=str)
        os.replace(tmp, path)
        return path

    def read_json(self, run_id: str, name: str) -> Any:
        return json.loads((self.run_dir(run_id) / name).read_text(encoding="utf-8"))
