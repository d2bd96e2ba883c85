"""A workspace's notebook kernels: started with jupyter_client in the production Python, kept
as records under .expenv/kernels/ so the daemon and the CLI see the same kernels.

Kernels are started independent of the process that starts them (a CLI command returns while
its kernel runs on). A kernel whose process is gone is reported as dead, with how it ended,
until it is restarted (same id, same connection file: clients reconnect) or stopped.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import uuid
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any, Callable

from expenv.domain.errors import ExpenvError
from expenv.domain.secrets import redact
from expenv.services.kernels import client as kernel_client
from expenv.services.kernels.spec import KERNEL_NAME, default_python, kernelspec


KERNEL_ACTIONS = ("list", "start", "stop", "restart", "interrupt")


class KernelError(ExpenvError):
    """A kernel cannot be started, found or controlled."""


@dataclass(frozen=True)
class KernelRecord:
    """One notebook kernel as expenv knows it."""

    id: str
    python: str
    pid: int
    connection_file: str
    started_at: float
    state: str = "alive"             # alive | dead | unknown
    detail: str = ""                 # for a dead kernel: how it ended, and what to do
    restarts: int = 0
    tracking_uri: str | None = None  # redacted
    cluster_address: str | None = None
    pid_namespace: str = ""
    log_file: str = ""
    cwd: str = ""                    # where the kernel runs (a notebook's folder); "": the workspace
    parent_pid: int = 0              # the kernel exits when this process does (0: it outlives its starter)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _pid_namespace() -> str:
    try:
        return os.readlink("/proc/self/ns/pid")
    except OSError:
        return ""


class NotebookKernels:
    """Start, list, interrupt, restart and stop the kernels of one workspace."""

    def __init__(self, state_dir: Path, *, run_env: Callable[[], dict[str, str]] | None = None,
                 workspace: Path | None = None):
        """`run_env`: what each kernel is told at start (tracking URI, experiment, run tags)."""
        self.folder = Path(state_dir) / "kernels"
        self.run_env = run_env or dict
        self.workspace = workspace

    # --- the public operations ------------------------------------------------------------

    def start(self, python: str | None = None, cluster_address: str | None = None,
              env: dict[str, str] | None = None, timeout: float = 60, cwd: Path | None = None,
              parent_pid: int = 0) -> KernelRecord:
        kernel_id = uuid.uuid4().hex[:12]
        record = KernelRecord(id=kernel_id, python=python or default_python(), pid=0,
                              connection_file=str(self.folder / f"kernel-{kernel_id}.json"),
                              started_at=0.0, cluster_address=cluster_address,
                              log_file=str(self.folder / f"kernel-{kernel_id}.log"), cwd=str(cwd or ""),
                              parent_pid=parent_pid)
        return self._launch(record, env or {}, timeout)

    def list(self) -> list[KernelRecord]:
        records = []
        for path in sorted(self.folder.glob("*.record.json")):
            try:
                records.append(self._with_state(KernelRecord(**json.loads(path.read_text()))))
            except (OSError, ValueError, TypeError):
                continue
        return sorted(records, key=lambda r: r.started_at)

    def get(self, kernel_id: str) -> KernelRecord:
        path = self._record_path(kernel_id)
        try:
            return self._with_state(KernelRecord(**json.loads(path.read_text())))
        except FileNotFoundError:
            known = ", ".join(r.id for r in self.list()) or "none"
            raise KernelError(f"no kernel {kernel_id!r} in this workspace (kernels: {known})") from None

    def interrupt(self, kernel_id: str) -> KernelRecord:
        record = self.get(kernel_id)
        self._require_here(record, "interrupt")
        if record.state != "alive":
            raise KernelError(f"kernel {kernel_id} is {record.state}: {record.detail}")
        os.killpg(record.pid, signal.SIGINT)   # its own session: the group is the kernel's
        return record

    def restart(self, kernel_id: str, timeout: float = 60, parent_pid: int | None = None) -> KernelRecord:
        """A new kernel process on the same connection file (clients reconnect), alive or dead before.
        `parent_pid`: the process the new one exits with, when not the one the old one had."""
        record = self.get(kernel_id)
        self._require_here(record, "restart")
        if record.state == "alive":
            self._stop_process(record)
        tied = record.parent_pid if parent_pid is None else parent_pid
        return self._launch(replace(record, restarts=record.restarts + 1, parent_pid=tied), {}, timeout)

    def stop(self, kernel_id: str, timeout: float = 10) -> KernelRecord:
        record = self.get(kernel_id)
        if record.state == "alive":
            self._require_here(record, "stop")
            self._stop_process(record, timeout)
        for path in (self._record_path(kernel_id), Path(record.connection_file), Path(record.log_file)):
            path.unlink(missing_ok=True)
        return replace(record, state="stopped", detail="")

    def execute(self, kernel_id: str, code: str, timeout: float = 120) -> kernel_client.ExecutionResult:
        record = self.get(kernel_id)
        if record.state == "dead":
            raise KernelError(f"kernel {kernel_id} is dead: {record.detail}")
        return kernel_client.execute(Path(record.connection_file), code, timeout)

    def act(self, action: str, kernel_id: str | None = None, python: str | None = None,
            cluster_address: str | None = None) -> list[KernelRecord] | KernelRecord:
        """One of KERNEL_ACTIONS by name (the LSP command `expenv.environment.kernels`)."""
        if action not in KERNEL_ACTIONS:
            raise KernelError(f"action must be one of {', '.join(KERNEL_ACTIONS)}")
        if action == "list":
            return self.list()
        if action == "start":
            return self.start(python, cluster_address)
        if not kernel_id:
            raise KernelError(f'{action} needs {{"id": "<kernel id>"}} (from action "list")')
        return getattr(self, action)(kernel_id)

    # --- launching and watching processes ---------------------------------------------------

    def _launch(self, record: KernelRecord, extra_env: dict[str, str], timeout: float) -> KernelRecord:
        from jupyter_client import KernelManager
        from jupyter_client.kernelspec import KernelSpecManager

        if not Path(record.python).exists():
            raise KernelError(f"no Python at {record.python}; inside the devcontainer the production Python is "
                              f"/opt/venv/bin/python (set EXPENV_KERNEL_PYTHON or pass python)")
        self.folder.mkdir(parents=True, exist_ok=True)
        specs = self.folder / "kernelspecs"
        spec_dir = specs / KERNEL_NAME
        spec_dir.mkdir(parents=True, exist_ok=True)
        (spec_dir / "kernel.json").write_text(json.dumps(kernelspec(record.python)))
        run_env = self.run_env()
        tracking = run_env.get("MLFLOW_TRACKING_URI")
        env = {**os.environ, **run_env, **extra_env, "EXPENV_KERNEL_ID": record.id, "PYTHONUNBUFFERED": "1"}
        env.pop("JPY_PARENT_PID", None)
        if record.parent_pid:   # ipykernel exits when its parent goes (its ParentPollerUnix)
            env["JPY_PARENT_PID"] = str(record.parent_pid)
        if record.cluster_address:
            env["EXPENV_CLUSTER_ADDRESS"] = record.cluster_address
        if self.workspace:
            env["EXPENV_WORKSPACE"] = str(self.workspace)
        manager = KernelManager(kernel_name=KERNEL_NAME, kernel_spec_manager=KernelSpecManager(kernel_dirs=[str(specs)]),
                                connection_file=record.connection_file, ip="127.0.0.1")
        if Path(record.connection_file).exists():   # a restart keeps the ports and the key
            manager.load_connection_file()
        with open(record.log_file, "ab") as log:
            try:
                manager.start_kernel(env=env, independent=True, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                     cwd=record.cwd or str(self.workspace or Path.cwd()))
            except Exception as exc:  # noqa: BLE001 - the launcher raises many kinds; the user sees one
                raise KernelError(f"the kernel did not start with {record.python}: {exc}") from None
        # The manager is dropped below and the kernel outlives it: its __del__ must not delete the
        # connection file that the record (and every client) uses.
        manager._connection_file_written = False
        os.chmod(record.connection_file, 0o600)
        process = getattr(manager.provisioner, "process", None)   # the local provisioner's Popen
        if process is None:
            raise KernelError("jupyter_client started the kernel without a local process; expenv needs the "
                              "local provisioner")
        pid = process.pid
        record = replace(record, pid=pid, started_at=time.time(), state="alive", detail="",
                         tracking_uri=redact(tracking), pid_namespace=_pid_namespace())
        self._save(record)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if process.poll() is not None:
                return self._save(self._with_state(record))  # died while starting: the record says why
            if kernel_client.heartbeat(Path(record.connection_file), 0.5):
                return record
            time.sleep(0.1)
        raise KernelError(f"kernel {record.id} did not answer within {timeout:.0f} s (log: {record.log_file})")

    def _with_state(self, record: KernelRecord) -> KernelRecord:
        if record.state == "stopped" or record.pid <= 0:
            return record
        if record.pid_namespace and record.pid_namespace != _pid_namespace():
            alive = kernel_client.heartbeat(Path(record.connection_file))
            return replace(record, state="alive" if alive else "unknown",
                           detail="" if alive else "started in another container; ask there")
        ended = _exit_status(record.pid)
        if ended is None:
            return replace(record, state="alive", detail="")
        tail = _log_tail(record.log_file)
        detail = f"kernel process {record.pid} {ended}; restart it (expenv kernels restart {record.id})"
        return replace(record, state="dead", detail=detail + (f"; last output: {tail}" if tail else ""))

    def _stop_process(self, record: KernelRecord, timeout: float = 10) -> None:
        """Ask the kernel to exit; then SIGTERM, then SIGKILL its process group."""
        kernel_client.request_shutdown(Path(record.connection_file), timeout=min(timeout / 2, 5))
        for sig in (None, signal.SIGTERM, signal.SIGKILL):
            if sig is not None:
                try:
                    os.killpg(record.pid, sig)
                except ProcessLookupError:
                    return
            deadline = time.monotonic() + timeout / 3
            while time.monotonic() < deadline:
                if _exit_status(record.pid) is not None:
                    return
                time.sleep(0.05)

    def _require_here(self, record: KernelRecord, verb: str) -> None:
        if record.pid_namespace and record.pid_namespace != _pid_namespace():
            raise KernelError(f"kernel {record.id} was started in another container; {verb} it there "
                              "(devcontainer exec ... expenv kernels ...)")

    def _record_path(self, kernel_id: str) -> Path:
        if not kernel_id or not all(c.isalnum() or c == "-" for c in kernel_id):
            raise KernelError(f"not a kernel id: {kernel_id!r}")
        return self.folder / f"kernel-{kernel_id}.record.json"

    def _save(self, record: KernelRecord) -> KernelRecord:
        path = self._record_path(record.id)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(record.as_dict()))
        tmp.replace(path)
        return record


def _exit_status(pid: int) -> str | None:
    """None while the process runs; else how it ended (reaping it when it is our child)."""
    try:
        waited, status = os.waitpid(pid, os.WNOHANG)
        if waited == pid:
            if os.WIFSIGNALED(status):
                return f"was killed by signal {signal.Signals(os.WTERMSIG(status)).name}"
            return f"exited with code {os.WEXITSTATUS(status)}"
        return None
    except ChildProcessError:
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return "is gone"
    except PermissionError:
        return None
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return None
    return "is gone (zombie)" if state == "Z" else None


def _log_tail(path: str, lines: int = 3) -> str:
    """The kernel's last words: its log after the start-up banner (which ends with `--existing`)."""
    try:
        text = Path(path).read_text(errors="replace").splitlines()
    except OSError:
        return ""
    ends = [i for i, line in enumerate(text) if line.strip().startswith("--existing")]
    after = text[ends[-1] + 1:] if ends else text
    useful = [line.strip() for line in after if line.strip() and "without encryption" not in line]
    return " | ".join(useful[-lines:])[:500]
