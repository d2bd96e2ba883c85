"""The embedded MLflow server: sqlite store and artifacts under `.expenv/`, on loopback only."""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from expenv.domain.errors import ExpenvError
from expenv.services.http_probe import http_get

log = logging.getLogger(__name__)

LOOPBACK = "127.0.0.1"


@dataclass(frozen=True)
class EmbeddedServer:
    """A running embedded server, as recorded in `.expenv/mlflow/server.json`."""

    pid: int
    port: int
    uri: str
    store: str
    # The PID namespace the server was started in: a devcontainer on host networking sees the
    # server's port but not its process, so there it is judged by /health alone.
    pidns: str = ""

    def local(self) -> bool:
        return not self.pidns or self.pidns == _pid_namespace()


class EmbeddedMlflowError(ExpenvError):
    """The embedded server cannot start where or as asked."""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind((LOOPBACK, 0))
        return sock.getsockname()[1]


def _port_free(port: int) -> bool:
    with socket.socket() as sock:
        # As the server binds (uvicorn sets it): connections of a server that just died, left in
        # TIME_WAIT, do not hold the port; only a listener does.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((LOOPBACK, port))
        except OSError:
            return False
        return True


def _pid_namespace() -> str:
    try:
        return os.readlink("/proc/self/ns/pid")
    except OSError:
        return ""


def _alive(pid: int) -> bool:
    from expenv.services.process_state import pid_alive

    return pid_alive(pid)


def _with_expenv_importable() -> dict[str, str]:
    """The environment, with this expenv's folder on the path: the server runs in the store's folder,
    so an expenv found through the current directory would not be found there. Not for an expenv in
    site-packages: that folder on PYTHONPATH would go before the standard library."""
    import site

    import expenv

    source = Path(expenv.__file__).resolve().parent.parent
    installed = {Path(p).resolve() for p in [*site.getsitepackages(), site.getusersitepackages()]}
    path = os.environ.get("PYTHONPATH", "")
    if source in installed or str(source) in path.split(os.pathsep):
        return dict(os.environ)
    return {**os.environ, "PYTHONPATH": str(source) + (os.pathsep + path if path else "")}


def healthy(uri: str, timeout: float = 2.0) -> bool:
    try:
        status, _ = http_get(uri.rstrip("/") + "/health", timeout=timeout)
    except OSError:
        return False
    return status == 200


class EmbeddedMlflow:
    """Start, find and stop the one embedded MLflow server of a workspace."""

    def __init__(self, state_dir: Path):
        self.dir = state_dir / "mlflow"
        self.record = self.dir / "server.json"
        self.db = self.dir / "mlflow.db"
        self.artifacts = self.dir / "artifacts"
        self.logfile = self.dir / "server.log"

    def running(self) -> EmbeddedServer | None:
        """The recorded server if its process is alive and answers /health."""
        try:
            server = EmbeddedServer(**json.loads(self.record.read_text()))
        except (OSError, ValueError, TypeError):
            return None
        if (not server.local() or _alive(server.pid)) and healthy(server.uri):
            return server
        return None

    def start(self, port: int | None = None, timeout: float = 90.0) -> EmbeddedServer:
        """Reuse the running server, or start one on `port` (default: a free one). A port the user
        named is honoured or refused, never silently swapped for another."""
        if (server := self.running()) is not None:
            if port is not None and server.port != port:
                raise EmbeddedMlflowError(f"the embedded MLflow server already runs on port {server.port}, "
                                          f"not {port}: run `expenv down` first to move it")
            return server
        self._check_store()
        if port is not None and not _port_free(port):
            raise EmbeddedMlflowError(f"port {port} on {LOOPBACK} is taken: choose another with --port, "
                                      "or leave it out for a free one")
        self.dir.mkdir(parents=True, exist_ok=True)
        self.artifacts.mkdir(exist_ok=True)
        port = port if port is not None else self._last_port() or _free_port()
        uri = f"http://{LOOPBACK}:{port}"
        # What `mlflow server` runs, in one process instead of a launcher plus a uvicorn child that
        # imports MLflow again (see mlflow_server.py).
        cmd = [sys.executable, "-m", "expenv.services.tracking.mlflow_server",
               LOOPBACK, str(port), str(self.db), str(self.artifacts)]
        with open(self.logfile, "ab") as logf:
            # stdout must never reach the daemon's stdout (the LSP stream): send it to the log file.
            proc = subprocess.Popen(cmd, stdout=logf, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                    start_new_session=True, cwd=self.dir, env=_with_expenv_importable())
        server = EmbeddedServer(pid=proc.pid, port=port, uri=uri, store=str(self.db), pidns=_pid_namespace())
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise EmbeddedMlflowError(
                    f"the embedded MLflow server exited with code {proc.returncode}; see {self.logfile}")
            if healthy(uri, timeout=1.0):
                self.record.write_text(json.dumps(asdict(server)))
                log.info("embedded MLflow server on %s (store %s)", uri, self.db)
                return server
            time.sleep(0.3)
        os.killpg(proc.pid, signal.SIGTERM)
        raise EmbeddedMlflowError(f"the embedded MLflow server did not answer in {timeout:.0f} s; see {self.logfile}")

    def _last_port(self) -> int | None:
        """The port of a server that died without `expenv down`, when free again: runs, kernels and
        notebooks were told its URI, and find the new server there."""
        try:
            port = int(json.loads(self.record.read_text())["port"])
        except (OSError, ValueError, TypeError, KeyError):
            return None
        return port if _port_free(port) else None

    def stop(self, timeout: float = 15.0) -> bool:
        """Stop the recorded server. Returns whether one was running."""
        try:
            server = EmbeddedServer(**json.loads(self.record.read_text()))
        except (OSError, ValueError, TypeError):
            return False
        if not server.local():
            log.warning("the embedded MLflow server at %s was started outside this container; stop it there",
                        server.uri)
            return False
        self.record.unlink(missing_ok=True)
        if not _alive(server.pid):
            return False
        try:
            os.killpg(server.pid, signal.SIGTERM)
        except ProcessLookupError:
            return False
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and _alive(server.pid):
            try:
                os.waitpid(server.pid, os.WNOHANG)
            except ChildProcessError:
                pass
            time.sleep(0.2)
        if _alive(server.pid):
            os.killpg(server.pid, signal.SIGKILL)
        return True

    def _check_store(self) -> None:
        """Refuse to start over a store that is not a sqlite database (never overwrite it)."""
        if self.db.exists() and self.db.stat().st_size > 0:
            with open(self.db, "rb") as f:
                if f.read(16) != b"SQLite format 3\x00":
                    raise EmbeddedMlflowError(
                        f"{self.db} is not a SQLite database; move it aside to start a fresh store "
                        "(expenv never overwrites it)")
