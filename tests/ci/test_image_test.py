"""`expenv ci image-test`: the pipeline code and tests/ run inside the production image (the
session's test image, built once), with the runner's pytest and the image's own packages."""

from __future__ import annotations

import json

import pytest

from tests.ci.test_plan import expenv
from tests.docker.conftest import PROD_TAG, base_image, docker_client, example_project, production_image  # noqa: F401

pytestmark = [pytest.mark.docker]

TEST = """import sys

def test_runs_on_the_images_interpreter():
    import sklearn  # noqa: F401  (a production package of the image)
    print("INTERPRETER", sys.executable)
    assert sys.executable == "{python}", sys.executable
"""


@pytest.fixture
def repo(tmp_path, production_image, docker_client):  # noqa: F811
    python = docker_client.containers.run(PROD_TAG, ["python", "-c", "import sys; print(sys.executable)"],
                                          remove=True).decode().strip()
    root = tmp_path / "demo"
    (root / "pipelines").mkdir(parents=True)
    (root / "tests").mkdir()
    (root / "expenv.toml").write_text(f'[project]\nname = "demo"\n\n[environment]\nproduction_image = "{PROD_TAG}"\n')
    (root / "pipelines" / "fit.py").write_text("import sklearn\nimport helpers\n")
    (root / "pipelines" / "helpers.py").write_text("VALUE = 1\n")
    (root / "tests" / "test_fit.py").write_text(TEST.format(python=python))
    return root


def test_the_tests_run_in_the_image_and_a_missing_module_fails(repo):
    result = expenv(repo, "ci", "image-test", "--json")
    assert result.returncode == 0, result.stdout + result.stderr
    got = json.loads(result.stdout)
    assert got["image"] == PROD_TAG and got["exit_code"] == 0
    assert "2 pipeline/library modules compile in the image" in got["output"]
    assert "1 passed" in got["output"]

    (repo / "pipelines" / "fit.py").write_text("import sklearn\nimport not_in_the_image_xyz\n")
    missing = expenv(repo, "ci", "image-test")
    assert missing.returncode == 1
    assert "pipelines/fit.py: not_in_the_image_xyz" in missing.stdout
    assert "passed" not in missing.stdout     # stops before the tests
