"""The `local` backend's steps: each a subprocess of the workspace's Python (for debugging), run
in a checkout of the pinned code under the run's folder, never in the user's working tree."""

from __future__ import annotations

import os
import signal
import subprocess
import tarfile
import threading
import time
from pathlib import Path
from typing import Any

from expenv.domain.pipelines import StepSpec
from expenv.services.pipelines.steps import notebook_output
from expenv.services.tracking.embedded import _alive as process_exists
from expenv.services.tracking.embedded import _pid_namespace as pid_namespace

# The daemon's own run context must not leak into a step (the step gets its own), nor what a
# library set for the submitting process alone (importing feast points PROMETHEUS_MULTIPROCESS_DIR
# at a temporary folder it deletes when that process exits).
DROPPED_ENV = ("MLFLOW_RUN_ID", "MLFLOW_TRACKING_URI", "MLFLOW_EXPERIMENT_NAME", "MLFLOW_EXPERIMENT_ID",
               "EXPENV_RUN_TAGS", "EXPENV_OWNER_ROLE", "PROMETHEUS_MULTIPROCESS_DIR", "PROMETHEUS_MULTIPROC_DIR")


def prepare_local(code: Path, run_dir: Path) -> dict[str, Any]:
    """Unpack the code archive for the run's steps; what the plan needs to know."""
    from expenv.services.kernels.spec import default_python

    workdir = run_dir / "code"
    workdir.mkdir(parents=True, exist_ok=True)
    with tarfile.open(code) as archive:
        archive.extractall(workdir, filter="data")
    return {"python": default_python(), "out_dir": str(run_dir / "outputs"), "workdir": str(workdir)}


class ProcessSteps:
    """StepExecutor: one process group per step."""

    def __init__(self, plan: dict[str, Any]):
        self.workdir = Path(plan["workdir"])
        self.out_dir = Path(plan["out_dir"])
        self._procs: dict[int, subprocess.Popen] = {}

    def start(self, step: StepSpec, argv: list[str], env: dict[str, str], log_path: Path) -> dict[str, Any]:
        self.out_dir.mkdir(parents=True, exist_ok=True)
        from expenv.services.pipelines.driver import clean_env

        base = clean_env()
        with open(log_path, "ab") as log:
            proc = subprocess.Popen(argv, cwd=self.workdir, env={**base, **env, "PYTHONUNBUFFERED": "1"},
                                    stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                    start_new_session=True)
        self._procs[proc.pid] = proc
        return {"pid": proc.pid, "pidns": pid_namespace()}

    def wait(self, resources: dict[str, Any], stopping: threading.Event) -> tuple[int | None, str]:
        proc = self._procs[resources["pid"]]
        while proc.poll() is None:
            if stopping.wait(0.2):
                self.stop(resources)
        code = proc.returncode
        if code < 0:
            return code, f"killed by signal {signal.Signals(-code).name}"
        return code, "" if code == 0 else f"exit code {code}"

    def collect(self, resources: dict[str, Any], step: StepSpec, dest: Path) -> list[Path]:
        if step.kind != "notebook":
            return []
        path = Path(notebook_output(step, str(self.out_dir)))
        return [path] if path.is_file() else []

    def stop(self, resources: dict[str, Any]) -> None:
        pid = resources.get("pid")
        # a pid of another PID namespace (a devcontainer's) names some other process here
        if not pid or resources.get("pidns", pid_namespace()) != pid_namespace():
            return
        for sig, grace in ((signal.SIGTERM, 10.0), (signal.SIGKILL, 5.0)):
            try:
                os.killpg(pid, sig)
            except (ProcessLookupError, PermissionError):
                return
            deadline = time.monotonic() + grace
            proc = self._procs.get(pid)
            while time.monotonic() < deadline:
                if proc is not None and proc.poll() is not None:
                    return
                if proc is None and not process_exists(pid):
                    return
                time.sleep(0.1)

    def cleanup(self, resources: dict[str, Any]) -> None:
        self._procs.pop(resources.get("pid", 0), None)

    def remove_leftovers(self) -> None:
        """Nothing is left: a step's process group is ended by stop or ends by itself."""

