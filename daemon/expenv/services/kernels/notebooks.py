"""The kernel of each open notebook: started on its first cell (in the notebook's folder, with the
run context), kept in .expenv/kernels/notebooks.json. Unlike `expenv kernels start`, it exits with
the daemon that started it (as a Jupyter server's kernels do); the next cell revives it."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any, Callable

from expenv.services.kernels.cells import CellRun, run_cell
from expenv.services.kernels.pool import KernelError, KernelRecord, NotebookKernels


class NotebookSessions:
    """Execute, interrupt, restart and shut down the kernel of a notebook, named by its path."""

    def __init__(self, kernels: NotebookKernels):
        self.kernels = kernels
        self.index = kernels.folder / "notebooks.json"
        self._restarting: set[str] = set()   # a running cell ends "restarted", not "dead", meanwhile

    def execute(self, notebook: str, code: str, on_output: Callable[[dict[str, Any]], None]) -> CellRun:
        """Run one cell in the notebook's kernel (started or revived first); outputs stream to `on_output`."""
        if not isinstance(code, str):
            raise KernelError("code must be a string (the cell's source)")
        record = self.kernel_for(notebook)

        def still_running() -> str | None:
            now = self.kernels.get(record.id)
            if record.id in self._restarting or now.pid != record.pid:
                return "the kernel was restarted"
            return now.detail if now.state == "dead" else None

        run = run_cell(Path(record.connection_file), code, on_output, still_running)
        return CellRun(run.status, run.execution_count, run.outputs, record.id, run.detail)

    def kernel_for(self, notebook: str) -> KernelRecord:
        """The notebook's kernel: the one it had when alive, restarted when dead, else a new one."""
        kernel_id = self._known().get(self._key(notebook))
        if kernel_id:
            try:
                record = self.kernels.get(kernel_id)
            except KernelError:
                record = None   # stopped from the CLI: start another
            if record and record.state == "alive":
                return record
            if record and record.state == "dead":
                return self.kernels.restart(kernel_id, parent_pid=os.getpid())
        folder = Path(notebook).parent
        record = self.kernels.start(cwd=folder if folder.is_dir() else None, parent_pid=os.getpid())
        self._remember(self._key(notebook), record.id)
        return record

    def interrupt(self, notebook: str) -> KernelRecord:
        return self.kernels.interrupt(self._require(notebook))

    def restart(self, notebook: str) -> KernelRecord:
        kernel_id = self._require(notebook)
        self._restarting.add(kernel_id)
        try:
            return self.kernels.restart(kernel_id, parent_pid=os.getpid())
        finally:
            self._restarting.discard(kernel_id)

    def shutdown(self, notebook: str) -> KernelRecord:
        record = self.kernels.stop(self._require(notebook))
        self._remember(self._key(notebook), None)
        return record

    def _require(self, notebook: str) -> str:
        kernel_id = self._known().get(self._key(notebook))
        if not kernel_id:
            raise KernelError(f"notebook: {notebook} has no kernel yet (run a cell first)")
        return kernel_id

    @staticmethod
    def _key(notebook: str) -> str:
        if not isinstance(notebook, str) or not notebook.strip():
            raise KernelError('notebook is missing: pass {"notebook": "<path of the .ipynb>"}')
        # an unsaved notebook is a URI (untitled:Untitled-1.ipynb); a saved one, its resolved path
        return notebook if re.match(r"[a-zA-Z][\w+.-]+:", notebook) else str(Path(notebook).resolve())

    def _known(self) -> dict[str, str]:
        try:
            known = json.loads(self.index.read_text())
        except (OSError, ValueError):
            return {}
        return known if isinstance(known, dict) else {}

    def _remember(self, key: str, kernel_id: str | None) -> None:
        known = self._known()
        if kernel_id:
            known[key] = kernel_id
        else:
            known.pop(key, None)
        self.index.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.index.with_suffix(".tmp")
        tmp.write_text(json.dumps(known, indent=1))
        tmp.replace(self.index)
