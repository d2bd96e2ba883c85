"""Property 8: a notebook run, a local run and a run from a container of the production image land
in one experiment with expenv's tags, side by side in `expenv runs ls`."""

from __future__ import annotations

import pytest

from tests.docker.conftest import PROD_TAG
from tests.tracking.conftest import runs_json, tracked_workspace, tracking  # noqa: F401 - fixtures
from tests.tracking.test_runs_everywhere import local_run, notebook_run  # noqa: F401 - fixtures

pytestmark = [pytest.mark.docker, pytest.mark.timeout(900)]   # its fixtures start a kernel and a run

# The production image has no expenv: like the example's train.py, it reads EXPENV_RUN_TAGS itself.
SNIPPET = """
import json, os, mlflow
mlflow.set_experiment(os.environ["MLFLOW_EXPERIMENT_NAME"])
with mlflow.start_run(run_name="from-container"):
    mlflow.set_tags(json.loads(os.environ["EXPENV_RUN_TAGS"]))
    mlflow.log_metric("auc", 0.66)
print("logged")
"""


def test_container_run_lands_beside_notebook_and_local_runs(tracked_workspace, tracking, production_image,  # noqa: F811
                                                            docker_client, local_run, notebook_run):  # noqa: F811
    root, sha = tracked_workspace
    image = docker_client.images.get(PROD_TAG)
    env = tracking.child_env("docker", image=PROD_TAG, image_digest=image.id, pipeline="pipelines/train.py")
    # host networking: the embedded MLflow binds loopback only, and the container reaches it there
    output = docker_client.containers.run(PROD_TAG, ["python", "-c", SNIPPET], environment=env,
                                          network_mode="host", remove=True)
    assert b"logged" in output
    runs = runs_json(root)
    by_runner = {r["tags"].get("expenv.runner"): r for r in runs}
    assert {"notebook", "local", "docker"} <= set(by_runner)
    docker_run = by_runner["docker"]
    assert docker_run["tags"]["expenv.image"] == PROD_TAG
    assert docker_run["tags"]["expenv.image_digest"] == image.id
    assert docker_run["metrics"]["auc"] == 0.66
    for run in by_runner.values():
        assert run["tags"]["mlflow.source.git.commit"] == sha
        assert run["tags"]["mlflow.source.git.branch"] == "feature/x"
        assert run["experiment"] == "churn"
