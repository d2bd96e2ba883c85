"""A run whose driver lives in another PID namespace: submitted by the daemon of a devcontainer and
read or cancelled from the host's terminal (or the other way). Its pid means nothing here, so the
driver's heartbeat says whether it lives, and a cancel reaches it through the run's cancel marker.
The other namespace is a real one (`unshare --pid`), as a container's is."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.pipelines.conftest import expenv, expenv_json, git, mlflow_run, wait_for_status

pytestmark = pytest.mark.timeout(600)

CONFIG = """[project]
name = "nap-demo"

[targets.here]
backend = "local"

[pipelines.nap]
feature_service = "none"

[pipelines.nap.steps.nap]
python = "steps/nap.py"
params = { seconds = 600 }
"""
NAP = """import argparse, time
parser = argparse.ArgumentParser()
parser.add_argument("--seconds", type=float)
print("napping", flush=True)
time.sleep(parser.parse_args().seconds)
"""


@pytest.fixture(scope="module")
def nap_workspace(tmp_path_factory):
    root = tmp_path_factory.mktemp("namespaces") / "nap"
    (root / "steps").mkdir(parents=True)
    (root / "expenv.toml").write_text(CONFIG)
    (root / "steps" / "nap.py").write_text(NAP)
    (root / ".gitignore").write_text(".expenv/\n")
    git(root, "init", "-q", "-b", "feature/nap")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "nap")
    up = expenv(root, "up", "--json", timeout=300)
    assert up.returncode == 0, up.stderr
    yield {"root": root, "uri": json.loads(up.stdout)["tracking_uri"]}
    expenv(root, "down", timeout=120)


class OtherNamespace:
    """`expenv pipeline submit` run in a new PID namespace that stays up (as a devcontainer does)
    until killed: then the kernel kills every process in it, the run's driver and step included."""

    def __init__(self, root: Path, out: Path):
        script = (f"'{sys.executable}' -m expenv pipeline submit nap --target here -w '{root}' --json > '{out}'; "
                  "exec sleep 900")
        self.proc = subprocess.Popen(["unshare", "--pid", "--fork", "--mount-proc", "sh", "-c", script],
                                     start_new_session=True)
        deadline = time.monotonic() + 300
        while not (out.is_file() and out.read_text().rstrip().endswith("}")):
            assert self.proc.poll() is None, "unshare --pid could not start a PID namespace"
            assert time.monotonic() < deadline, "the submission in the other namespace never answered"
            time.sleep(0.5)
        self.run = json.loads(out.read_text())

    def kill(self) -> None:
        os.killpg(self.proc.pid, signal.SIGKILL)   # its init dies: the kernel kills the namespace
        self.proc.wait(timeout=60)


def _step_processes(root: Path, run_id: str) -> list[int]:
    """Processes (seen from here, whatever their namespace) working in the run's checkout."""
    checkout, found = str(root / ".expenv" / "pipelines" / run_id), []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if os.readlink(f"/proc/{pid}/cwd").startswith(checkout):
                found.append(int(pid))
        except OSError:
            pass
    return found


def _wait_gone(root: Path, run_id: str) -> None:
    deadline = time.monotonic() + 30
    while _step_processes(root, run_id):
        assert time.monotonic() < deadline, f"the step of {run_id} still runs"
        time.sleep(0.2)


def _age_heartbeat(root: Path, run_id: str) -> None:
    """The run's heartbeat as a reader sees it after HEARTBEAT_STALE without a beat."""
    from expenv.services.pipelines.driver import HEARTBEAT, HEARTBEAT_STALE

    beat = root / ".expenv" / "pipelines" / run_id / HEARTBEAT
    assert beat.is_file()
    past = time.time() - HEARTBEAT_STALE - 5
    os.utime(beat, (past, past))


def _running(run: dict) -> bool:
    return run["status"] == "RUNNING" and run["steps"][0]["status"] == "RUNNING"


def test_a_cancel_from_another_namespace_reaches_the_live_driver(nap_workspace, tmp_path):
    root, uri = nap_workspace["root"], nap_workspace["uri"]
    other = OtherNamespace(root, tmp_path / "submitted.json")
    try:
        run_id = other.run["id"]
        run = wait_for_status(root, run_id, _running, timeout=300)
        assert _step_processes(root, run_id)   # the step, in the other namespace, seen from here
        # here the driver's pid names nothing (or another process): it is judged by its heartbeat
        assert expenv_json(root, "pipeline", "status", run_id)["status"] == "RUNNING"
        cancelled = expenv_json(root, "pipeline", "cancel", run_id, timeout=120)
        # the driver ended the run itself (it read the cancel marker), stopping its step
        assert cancelled["status"] == "CANCELLED" and cancelled["detail"] != "cancelled by the user", cancelled
        assert cancelled["steps"][0]["status"] == "CANCELLED" and "SIGTERM" in cancelled["steps"][0]["detail"]
        _wait_gone(root, run_id)
        assert mlflow_run(uri, run["mlflow_run_id"])["status"] == "KILLED"
    finally:
        other.kill()


def test_a_driver_that_died_with_its_namespace_fails_the_run_once_its_heartbeat_is_stale(nap_workspace, tmp_path):
    root, uri = nap_workspace["root"], nap_workspace["uri"]
    other = OtherNamespace(root, tmp_path / "submitted.json")
    run_id = other.run["id"]
    try:
        wait_for_status(root, run_id, _running, timeout=300)
    finally:
        other.kill()   # the devcontainer is gone, its driver with it
    _wait_gone(root, run_id)   # the kernel kills the rest of the namespace as its init dies
    # a heartbeat of a moment ago: the driver may be alive in a namespace this process cannot see
    assert expenv_json(root, "pipeline", "status", run_id)["status"] == "RUNNING"
    _age_heartbeat(root, run_id)   # the time passes without a beat
    run = expenv_json(root, "pipeline", "status", run_id)
    assert run["status"] == "FAILED" and "driver process died" in run["detail"], run
    assert mlflow_run(uri, run["mlflow_run_id"])["status"] == "FAILED"


def test_a_beat_that_looks_stale_after_a_sleep_is_looked_at_again(tmp_path):
    """A machine that just woke up shows every heartbeat a minute old; a live driver beats again at
    once. The reader in another PID namespace looks again before judging (it would otherwise abandon
    a live run, stopping its steps). The driver is a stand-in here: the window is its next beat."""
    import threading

    from expenv.domain.pipelines import PipelineRun
    from expenv.services.pipelines import driver
    from expenv.services.pipelines.store import RunStore

    store = RunStore(tmp_path)
    run = PipelineRun(id="r5", pipeline="nap", target="here", backend="local", status="RUNNING",
                      created_at=time.time() - 3600, resources={"driver_pid": 1, "driver_pidns": "pid:[elsewhere]"})
    beat = store.run_dir(run.id) / driver.HEARTBEAT
    beat.parent.mkdir(parents=True)
    past = time.time() - driver.HEARTBEAT_STALE - 600   # slept ten minutes
    beat.touch()
    os.utime(beat, (past, past))
    woke = threading.Timer(driver.HEARTBEAT_EVERY / 2, beat.touch)   # its next beat, after waking
    woke.start()
    try:
        assert driver.driver_gone(run, store) is False
    finally:
        woke.cancel()
    os.utime(beat, (past, past))   # no beat comes any more: gone
    assert driver.driver_gone(run, store) is True
