"""Kernels in the devcontainer (jupyter_client, production Python) and the parity check: a kernel
runs production packages, gets the tracking URI and cluster address, dies loudly and restarts;
parity finds exactly the package installed by hand in the kernel."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.docker.conftest import CLUSTER_ADDRESS, PROD_TAG, TRACKING_URI, dc_exec, dc_python

# The first test of a session may build the base and production images (minutes on a cold machine).
pytestmark = [pytest.mark.docker, pytest.mark.timeout(1200)]

KERNELS = ("import json, sys; from expenv.services.workspace import WorkspaceSet; "
           "k = WorkspaceSet().add('.').services.kernels; ")
HAND_INSTALLED = "iniconfig"   # small, pure, in neither the production image nor the dev tools


def _kernels(workspace: Path, call: str) -> dict:
    """Run one NotebookKernels call in the devcontainer (as the dev user); its JSON result."""
    return json.loads(dc_python(workspace, KERNELS + f"r = {call}; print(json.dumps(r.as_dict()))"))


def _host_path(workspace: Path, record: dict, remote_folder: str) -> Path:
    return workspace / Path(record["connection_file"]).relative_to(remote_folder)


def _execute(connection_file: Path, code: str, timeout: float = 120):
    from expenv.services.kernels.client import execute

    return execute(connection_file, code, timeout)


@pytest.fixture
def kernel(devcontainer, example_project):
    """A kernel started in the devcontainer with jupyter_client; stopped afterwards."""
    record = _kernels(example_project, f"k.start(cluster_address={CLUSTER_ADDRESS!r})")
    yield record
    dc_exec(example_project, "python", "-c", KERNELS + f"k.stop({record['id']!r})", check=False)


def test_a_kernel_in_the_devcontainer_runs_production_packages(kernel, devcontainer, example_project):
    assert kernel["state"] == "alive" and kernel["python"] == "/opt/venv/bin/python"
    connection = _host_path(example_project, kernel, devcontainer.remote_workspace_folder)
    result = _execute(connection, "import os, sys, sklearn, pandas\n"
                                  "print(sys.executable, sklearn.__version__, pandas.__version__)\n"
                                  "print(os.environ['MLFLOW_TRACKING_URI'], os.environ['EXPENV_CLUSTER_ADDRESS'])")
    assert result.status == "ok", result
    first, second = result.stdout.splitlines()
    assert first.startswith("/opt/venv/bin/python ")
    assert second == f"{TRACKING_URI} {CLUSTER_ADDRESS}"
    listed = json.loads(dc_python(example_project, KERNELS + "print(json.dumps([r.as_dict() for r in k.list()]))"))
    assert [(r["id"], r["state"]) for r in listed] == [(kernel["id"], "alive")]


def test_an_interrupt_stops_the_running_cell(kernel, devcontainer, example_project):
    connection = _host_path(example_project, kernel, devcontainer.remote_workspace_folder)
    marker = example_project / ".expenv" / "cell-is-running"   # the kernel's cwd is the workspace
    outcome = {}
    worker = threading.Thread(target=lambda: outcome.update(result=_execute(
        connection, "import time, pathlib\npathlib.Path('.expenv/cell-is-running').touch()\ntime.sleep(60)")))
    worker.start()
    deadline = time.monotonic() + 60
    while not marker.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert marker.exists(), "the cell never started"
    _kernels(example_project, f"k.interrupt({kernel['id']!r})")
    worker.join(30)
    assert outcome["result"].error_name == "KeyboardInterrupt"
    assert _execute(connection, "print('still here')").stdout == "still here\n"


def test_a_kernel_that_dies_is_reported_and_restarts(kernel, devcontainer, example_project):
    connection = _host_path(example_project, kernel, devcontainer.remote_workspace_folder)
    assert _execute(connection, "x = 41").status == "ok"
    dc_exec(example_project, "sh", "-c", f"kill -KILL {kernel['pid']}")   # a shell builtin in minbase
    dead = _kernels(example_project, f"k.get({kernel['id']!r})")
    deadline = time.monotonic() + 30   # until the container's init has reaped the killed process
    while dead["state"] != "dead" and time.monotonic() < deadline:
        dead = _kernels(example_project, f"k.get({kernel['id']!r})")
    assert dead["state"] == "dead"
    assert f"kernel process {kernel['pid']}" in dead["detail"] and "restart it" in dead["detail"]
    revived = _kernels(example_project, f"k.restart({kernel['id']!r})")
    assert revived["state"] == "alive" and revived["pid"] != kernel["pid"] and revived["restarts"] == 1
    assert revived["connection_file"] == kernel["connection_file"]
    result = _execute(connection, "print('x' in dir(), 40 + 2)")   # a fresh process, same connection
    assert result.stdout == "False 42\n"


def _parity(workspace: Path) -> dict:
    return json.loads(dc_python(workspace, (
        "import json; from expenv.services.workspace import WorkspaceSet; "
        "from expenv.services.parity import check_workspace_parity; "
        "print(json.dumps(check_workspace_parity(WorkspaceSet().add('.').config).as_dict()))")))


def _differences(report: dict) -> dict:
    return {key: report[key] for key in ("missing_in_image", "version_drift", "missing_in_kernel", "python",
                                         "os_drift")}


def test_parity_finds_the_package_installed_by_hand_in_the_kernel_and_nothing_else(
        kernel, devcontainer, example_project, tmp_path):
    before = _parity(example_project)
    assert before["ok"] is True, _differences(before)
    assert before["image"] == PROD_TAG and before["image_snapshot_cached"] in (True, False)
    assert before["summary"] == f"the kernel matches {PROD_TAG}"
    # The wheel comes from the host's package index (pip's own configuration), into the workspace.
    wheels = example_project / "wheels"
    got = subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:",
                          HAND_INSTALLED, "-d", str(wheels)], capture_output=True, text=True, timeout=300)
    assert got.returncode == 0, got.stderr
    (wheel,) = wheels.glob("*.whl")
    remote_wheel = f"{devcontainer.remote_workspace_folder}/wheels/{wheel.name}"
    connection = _host_path(example_project, kernel, devcontainer.remote_workspace_folder)
    try:
        installed = _execute(connection, f"%pip install --no-index --no-deps {remote_wheel}\n"
                                         f"import {HAND_INSTALLED}; print({HAND_INSTALLED}.__name__)", timeout=300)
        assert installed.status == "ok" and installed.stdout.strip().endswith(HAND_INSTALLED), installed
        after = _parity(example_project)
        version = wheel.name.split("-")[1]
        assert _differences(after) == {
            "missing_in_image": [{"name": HAND_INSTALLED, "kernel": version, "image": None,
                                  "requirement": f"{HAND_INSTALLED}=={version}"}],
            "version_drift": [], "missing_in_kernel": [], "python": None, "os_drift": []}
        assert after["ok"] is False and after["image_snapshot_cached"] is True
        assert after["summary"] == f"the kernel differs from {PROD_TAG}: 1 not in the image ({HAND_INSTALLED})"
    finally:
        dc_exec(example_project, "python", "-m", "pip", "uninstall", "--yes", "--quiet", HAND_INSTALLED, check=False)


def test_imports_the_image_lacks_and_the_requirement_that_adds_them(production_image, tmp_path):
    from expenv.services.parity import add_requirement, image_snapshot, kernel_snapshot, unprovided_imports

    image, _ = image_snapshot(PROD_TAG, tmp_path / "cache")
    here = kernel_snapshot(sys.executable)     # the test venv has pygls; the production image has not
    (tmp_path / "helpers.py").write_text("")
    source = ("import os, pandas\n%pip install pygls\nfrom sklearn.pipeline import Pipeline\n"
              "import helpers\nfrom pygls.lsp.server import LanguageServer\nfrom . import sibling\n")
    (finding,) = unprovided_imports(source, image, here, local_roots=[tmp_path])
    assert (finding.module, finding.line, finding.column, finding.end_column) == ("pygls", 4, 5, 21)
    assert finding.requirement == f"pygls=={here.packages['pygls']}"
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("pandas>=2.0\n# the model\nscikit-learn>=1.4\n")
    edit = add_requirement(requirements, finding.requirement)
    assert edit.old_text is None and edit.line == 3
    edit = add_requirement(requirements, "Scikit_Learn==1.5.0")
    assert edit.old_text == "scikit-learn>=1.4" and edit.line == 2
    assert requirements.read_text() == f"pandas>=2.0\n# the model\nScikit_Learn==1.5.0\n{finding.requirement}\n"
