"""Session fixtures for the image, devcontainer, kernel and parity tests: the images are built
once per session (and reuse Docker's layer cache and expenv's recipe labels across sessions).

Nothing here skips: without a Docker engine or the devcontainer CLI the tests fail, saying why.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PROD_TAG = "expenv-test-churn-prod:latest"   # not the user's churn-prod:latest
CLUSTER_ADDRESS = "tcp://127.0.0.1:8786"
TRACKING_URI = "http://127.0.0.1:5999"       # handed to kernels; nothing needs to listen there

# Other folders' modules import these fixtures by name, and pytest keeps a session fixture's value per
# place it is defined: each importing module made its own example and checked both images again. The
# values are kept here instead: one per session, made by whoever asks first.
_SESSION: dict[str, object] = {}


def _once(name: str, make):
    if name not in _SESSION:
        _SESSION[name] = make()
    return _SESSION[name]


@pytest.fixture(scope="session")
def docker_client():
    from expenv.services.images import docker_client as connect

    result = subprocess.run(["bash", str(REPO / "devcontainer/scripts/ensure-docker.sh")], capture_output=True,
                            text=True, timeout=180)
    assert result.returncode == 0, f"no Docker engine: {result.stderr}"
    client = connect()
    yield client
    client.close()


@pytest.fixture(scope="session")
def devcontainer_cli() -> str:
    """The devcontainer CLI from devcontainer/node_modules (npm ci when missing)."""
    binary = REPO / "devcontainer/node_modules/.bin/devcontainer"
    if not binary.exists():
        result = subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=REPO / "devcontainer",
                                capture_output=True, text=True, timeout=600)
        assert result.returncode == 0, f"npm ci in devcontainer/ failed: {result.stderr[-2000:]}"
    version = subprocess.run([str(binary), "--version"], capture_output=True, text=True, timeout=60)
    assert version.returncode == 0, f"the devcontainer CLI does not start: {version.stderr}"
    return str(binary)


@pytest.fixture(scope="session")
def base_image(docker_client):
    from expenv.services.images import build_base

    return _once("base_image", build_base)


@pytest.fixture(scope="session")
def example_project(tmp_path_factory) -> Path:
    """The example churn project (small data), pointing at the test's production image tag, with
    a tracking URI for kernels to receive. Owned by the container's dev user (uid 1000) when the
    tests run as root, as it would be on a developer's machine (updateRemoteUserUID)."""
    return _once("example_project", lambda: _example_project(tmp_path_factory))


def _example_project(tmp_path_factory) -> Path:
    from expenv.services.example import create_example

    root = tmp_path_factory.mktemp("devcontainer") / "churn"
    create_example(root, rows=5000)
    config = root / "expenv.toml"
    text = re.sub(r'production_image = "[^"]*"', f'production_image = "{PROD_TAG}"', config.read_text())
    text = text.replace('# uri = "http://mlflow.internal:5000"', f'uri = "{TRACKING_URI}"')
    config.write_text(text)
    if os.geteuid() == 0:
        subprocess.run(["chown", "-R", "1000:1000", str(root)], check=True)
    return root


@pytest.fixture(scope="session")
def production_image(base_image, example_project):
    from expenv.services.images import build_production

    return _once("production_image", lambda: build_production(example_project, PROD_TAG))


@pytest.fixture(scope="session")
def devcontainer(devcontainer_cli, production_image, example_project, docker_client):
    """`devcontainer up` on the example project, with devcontainer/ rendered into .devcontainer/."""
    from expenv.services.images import prepare_devcontainer
    from expenv.services.images import devcontainer as dc

    prepare_devcontainer(example_project / ".devcontainer", PROD_TAG)
    if os.geteuid() == 0:
        subprocess.run(["chown", "-R", "1000:1000", str(example_project / ".devcontainer")], check=True)
    dc.down(example_project)
    try:
        session = dc.up(example_project)
        yield session
    finally:
        used = {t for c in _containers(docker_client, example_project) for t in c.image.tags}
        dc.down(example_project)
        # The CLI tags vsc-NAME-HASH and, for the remote user's uid, vsc-NAME-HASH-uid: the tags go;
        # the layers stay as the next session's build cache.
        for tag in used | {t.replace("-uid:", ":") for t in used}:
            try:
                docker_client.images.remove(tag, noprune=True)
            except Exception:  # noqa: BLE001 - cleanup must not hide the test's result
                pass


def _containers(client, workspace: Path):
    return client.containers.list(all=True, filters={"label": f"devcontainer.local_folder={workspace.resolve()}"})


def dc_exec(workspace: Path, *command: str, timeout: float = 300, check: bool = True) -> subprocess.CompletedProcess:
    """Run a command in the devcontainer as its remote user; fail with its output when check."""
    from expenv.services.images import devcontainer as dc

    result = dc.run(workspace, *command, timeout=timeout)
    if check:
        assert result.returncode == 0, f"{command} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}"
    return result


def dc_python(workspace: Path, code: str, timeout: float = 300) -> str:
    """Run Python (the production interpreter) in the devcontainer; the last stdout line."""
    result = dc_exec(workspace, "python", "-c", code, timeout=timeout)
    return result.stdout.strip().splitlines()[-1]
