"""A git workspace for the fault-injection tests: a local target whose first step waits for a
file the test creates (so a fault can land while the run is mid-way), a Kubernetes cluster
profile and target, and a client that reads answers of requests it sent earlier."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path
from typing import Any

from tests.clusters.daemon_client import Daemon

KUBE_TIMEOUT = 4   # the `api_timeout` the profile and target set (the product's default is 15 s)
CONFIG = f"""[project]
name = "faults"

[environment]
production_image = "registry.example/faults:1"

[clusters.dask-k8s]
kind = "dask"
backend = "kubernetes"
context = "emu"
namespace = "ml"
workers = 1
options = {{ status_wait = 0.5 }}
api_timeout = {KUBE_TIMEOUT}

[targets.here]
backend = "local"

[pipelines.waiter.steps.wait]
python = "steps/wait.py"
params = {{ go = "" }}

[pipelines.waiter.steps.after]
python = "steps/after.py"
depends_on = ["wait"]
"""
WAIT = """import argparse, pathlib, time
parser = argparse.ArgumentParser()
parser.add_argument("--go")
go = pathlib.Path(parser.parse_args().go)
print("waiting for", go.name, flush=True)
deadline = time.monotonic() + 600
while not go.exists() and time.monotonic() < deadline:
    time.sleep(0.1)
print("going on", flush=True)
"""
AFTER = 'print("after ran", flush=True)\n'


def make_faulty_workspace(root: Path, config: str = CONFIG) -> Path:
    (root / "steps").mkdir(parents=True)
    (root / "expenv.toml").write_text(config)
    (root / "steps" / "wait.py").write_text(WAIT)
    (root / "steps" / "after.py").write_text(AFTER)
    (root / ".gitignore").write_text(".expenv/\n")
    git = ["git", "-C", str(root), "-c", "user.email=t@example.org", "-c", "user.name=t"]
    for args in (["init", "-q", "-b", "feature/faults"], ["add", "-A"], ["commit", "-q", "-m", "faults"]):
        subprocess.run([*git, *args], check=True)
    return root


def answer(daemon: Daemon, msg_id: int) -> dict[str, Any]:
    """The response to `msg_id`, whether already read (while waiting for another) or still to come."""
    for message in daemon.received:
        if message.get("id") == msg_id and "method" not in message:
            return message
    return daemon.response(msg_id)


def position(daemon: Daemon, msg_id: int) -> int:
    """Where the response to `msg_id` came in the daemon's output (order of arrival)."""
    return next(i for i, m in enumerate(daemon.received) if m.get("id") == msg_id and "method" not in m)


def poll_status(daemon: Daemon, run_id: str, predicate, timeout: float = 300) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        run = daemon.command("expenv.pipelines.status", {"run": run_id})["result"]
        if predicate(run):
            return run
        assert time.monotonic() < deadline, f"run {run_id} never reached the state: {run}"
        time.sleep(0.5)


def log_lines(daemon: Daemon, run_id: str) -> list[tuple[str, str]]:
    result = daemon.command("expenv.pipelines.logs", {"run": run_id})["result"]
    return [(entry["step"], entry["line"]) for entry in result["lines"]]


def kube_target(tracking_uri: str) -> str:
    """A Kubernetes target whose tracking server is named by this machine's name (a cluster is
    not told a loopback address), for the same embedded server."""
    import socket

    host = socket.gethostname()
    assert socket.gethostbyname(host).startswith("127."), f"{host} must resolve to loopback for this test"
    return (f'\n[targets.k8s]\nbackend = "kubernetes"\ncontext = "emu"\nnamespace = "ml"\nproduction_like = false\n'
            f'api_timeout = {KUBE_TIMEOUT}\n'
            f'tracking_uri = "{tracking_uri.replace("127.0.0.1", host)}"\n')


def allowed_hosts_env() -> dict[str, str]:
    """A server guarding against DNS rebinding answers only the host names it is told of."""
    import socket

    host = socket.gethostname()
    return {"MLFLOW_SERVER_ALLOWED_HOSTS": f"{host},{host}:*,localhost,localhost:*,127.0.0.1,127.0.0.1:*"}

