"""Run context in the devcontainer, with nothing set by hand: a plain `python train.py` in its
terminal, a kernel from the `expenv-production` kernelspec the devcontainer installs (what VS
Code's Jupyter extension starts), and a kernel from `expenv kernels start` there. Each run lands
in the workspace's embedded MLflow (started on the host by `expenv up`, as `make up` does) with
the git, stage, runner and image tags, read back through MLflow's REST API."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from tests.docker.conftest import PROD_TAG, dc_exec
from tests.tracking.conftest import run_named

pytestmark = [pytest.mark.docker, pytest.mark.timeout(1800)]

EXPERIMENT = "dc-runs"
TRAIN = "import mlflow\n\nwith mlflow.start_run(run_name='terminal'):\n    mlflow.log_metric('auc', 0.7)\n"
CELL = "import mlflow\nwith mlflow.start_run(run_name={name!r}):\n    mlflow.log_metric('auc', 0.64)\n"
# What the Jupyter extension does with a kernelspec: jupyter_client starts it by name, in the
# notebook's folder, with the editor's own environment (here: `devcontainer exec`'s).
KERNELSPEC_CELL = """
import sys
from jupyter_client.manager import start_new_kernel
km, kc = start_new_kernel(kernel_name="expenv-production", cwd=sys.argv[1])
try:
    reply = kc.execute_interactive(sys.argv[2], timeout=180)
    assert reply["content"]["status"] == "ok", reply["content"]
finally:
    kc.stop_channels()
    km.shutdown_kernel(now=True)
print("ran")
"""


def _git(root: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(root), "-c", "user.email=t@example.org", "-c", "user.name=t", *args],
                          capture_output=True, text=True, check=True).stdout.strip()


@pytest.fixture(scope="module")
def project(devcontainer, example_project):
    """A project folder inside the devcontainer's workspace: a git repository on release/2.0 with its
    own expenv.toml (no tracking URI: the embedded server), brought up on the host."""
    name = f"tracked-{uuid.uuid4().hex[:8]}"
    root = example_project / name
    root.mkdir()
    (root / "expenv.toml").write_text(f'[project]\nname = "{EXPERIMENT}"\n')
    (root / "train.py").write_text(TRAIN)
    (root / ".gitignore").write_text(".expenv/\n")
    _git(root, "init", "-q", "-b", "release/2.0")
    _git(root, "add", "-A")
    _git(root, "commit", "-q", "-m", "init")
    sha = _git(root, "rev-parse", "HEAD")   # before the chown: git refuses a repository of another user
    up = subprocess.run([sys.executable, "-m", "expenv", "up", "--json", "-w", str(root)], capture_output=True,
                        text=True, timeout=180)
    assert up.returncode == 0, up.stderr
    if os.geteuid() == 0:   # the dev user (uid 1000) owns the workspace, as on a developer's machine
        subprocess.run(["chown", "-R", "1000:1000", str(root)], check=True)
    try:
        yield {"root": root, "remote": f"{devcontainer.remote_workspace_folder}/{name}", "name": name,
               "sha": sha, "uri": json.loads(up.stdout)["tracking_uri"]}
    finally:
        subprocess.run([sys.executable, "-m", "expenv", "down", "-w", str(root)], capture_output=True, timeout=60)


def _context(run: dict) -> tuple:
    tags = run["tags"]
    return (tags.get("mlflow.source.git.commit"), tags.get("mlflow.source.git.branch"), tags.get("expenv.stage"),
            tags.get("expenv.runner"), tags.get("expenv.image"))


def test_plain_python_in_the_devcontainer_terminal_logs_to_the_workspace(project, example_project):
    dc_exec(example_project, "sh", "-c", f"cd {project['name']} && python train.py")
    run = run_named(project["uri"], EXPERIMENT, "terminal")
    assert _context(run) == (project["sha"], "release/2.0", "preprod", "local", PROD_TAG)
    assert run["tags"]["expenv.pipeline"] == "train.py"


def test_a_kernel_from_the_installed_kernelspec_logs_to_the_workspace(project, example_project):
    dc_exec(example_project, "python", "-c", KERNELSPEC_CELL, project["remote"], CELL.format(name="jupyter"))
    run = run_named(project["uri"], EXPERIMENT, "jupyter")
    assert _context(run) == (project["sha"], "release/2.0", "preprod", "notebook", PROD_TAG)


def test_a_kernel_from_expenv_kernels_start_in_the_devcontainer_logs_to_the_workspace(project, example_project):
    from expenv.services.kernels.client import execute

    started = dc_exec(example_project, "expenv", "kernels", "start", "--json", "-w", project["remote"])
    record = json.loads(started.stdout)
    try:
        connection = project["root"] / Path(record["connection_file"]).relative_to(project["remote"])
        result = execute(connection, CELL.format(name="expenv-kernel"), timeout=180)
        assert result.status == "ok", result
    finally:
        dc_exec(example_project, "expenv", "kernels", "stop", record["id"], "-w", project["remote"], check=False)
    run = run_named(project["uri"], EXPERIMENT, "expenv-kernel")
    assert _context(run) == (project["sha"], "release/2.0", "preprod", "notebook", PROD_TAG)
    assert record["tracking_uri"] == project["uri"]
