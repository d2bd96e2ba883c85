"""One MLflow for notebook and local runs, reached the way a user starts them: a plain
`python pipelines/train.py` and a kernel from `expenv kernels start`, with nothing set by hand.
Each run lands in the project's experiment with expenv's tags, read back through MLflow's REST API
and through `expenv runs`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.tracking.conftest import assert_nothing_preset, rest_runs, run_named, runs_json, server_uri

NOTEBOOK_CELL = "import mlflow\nwith mlflow.start_run(run_name={name!r}):\n    mlflow.log_metric('auc', {auc})\n"


def expenv(root: Path, *args: str) -> dict:
    result = subprocess.run([sys.executable, "-m", "expenv", *args, "--json", "-w", str(root)],
                            capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def run_in_kernel(record: dict, code: str) -> None:
    """Execute a cell in a running kernel over its connection file (what `jupyter console
    --existing` or the editor does)."""
    from expenv.services.kernels.client import execute

    result = execute(Path(record["connection_file"]), code, timeout=180)
    assert result.status == "ok", result


def git(root: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(root), "-c", "user.email=t@example.org", "-c", "user.name=t", *args],
                          capture_output=True, text=True, check=True).stdout.strip()


@pytest.fixture(scope="module")
def local_run(tracked_workspace):
    """`python pipelines/train.py` in the workspace, as typed in a terminal."""
    root, _ = tracked_workspace
    assert_nothing_preset()
    result = subprocess.run([sys.executable, "pipelines/train.py"], cwd=root, env={**os.environ, "AUC": "0.71"},
                            capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stderr


@pytest.fixture(scope="module")
def notebook_run(tracked_workspace):
    """A cell that starts a run, in a kernel from `expenv kernels start`."""
    root, _ = tracked_workspace
    assert_nothing_preset()
    record = expenv(root, "kernels", "start")
    try:
        run_in_kernel(record, NOTEBOOK_CELL.format(name="from-notebook", auc=0.69))
    finally:
        expenv(root, "kernels", "stop", record["id"])


def test_local_and_notebook_runs_land_in_one_experiment_with_tags(tracked_workspace, local_run, notebook_run):
    root, sha = tracked_workspace
    uri = server_uri(root)
    local = [r for r in rest_runs(uri, "churn") if r["metrics"].get("auc") == pytest.approx(0.71)]
    assert len(local) == 1, local
    notebook = run_named(uri, "churn", "from-notebook")
    for run, runner in ((local[0], "local"), (notebook, "notebook")):
        tags = run["tags"]
        assert tags["expenv.runner"] == runner
        assert tags["mlflow.source.git.commit"] == sha
        assert tags["mlflow.source.git.branch"] == "feature/x"
        assert tags["expenv.stage"] == "dev"
    assert local[0]["tags"]["expenv.pipeline"] == "pipelines/train.py"
    assert float(notebook["metrics"]["auc"]) == pytest.approx(0.69)


def test_a_running_kernel_tags_runs_with_the_commit_and_branch_of_the_moment(tracked_workspace):
    """A kernel lives for hours: a run after a commit on another branch carries that commit, that
    branch and its stage, not the ones of the kernel's start."""
    root, first_sha = tracked_workspace
    record = expenv(root, "kernels", "start")
    try:
        git(root, "checkout", "-q", "-b", "release/9.0")
        (root / "notes.md").write_text("release notes\n")
        git(root, "add", "notes.md")
        git(root, "commit", "-q", "-m", "notes")
        release_sha = git(root, "rev-parse", "HEAD")
        run_in_kernel(record, NOTEBOOK_CELL.format(name="after-commit", auc=0.5))
    finally:
        git(root, "checkout", "-q", "feature/x")
        expenv(root, "kernels", "stop", record["id"])
    tags = run_named(server_uri(root), "churn", "after-commit")["tags"]
    assert release_sha != first_sha
    assert (tags["mlflow.source.git.commit"], tags["mlflow.source.git.branch"], tags["expenv.stage"],
            tags["expenv.runner"]) == (release_sha, "release/9.0", "preprod", "notebook")


def test_expenv_runs_filters_and_matches_mlflow(tracked_workspace, local_run, notebook_run):
    root, _ = tracked_workspace
    uri = server_uri(root)
    every = runs_json(root)
    assert {r["run_id"] for r in every} == {r["run_id"] for r in rest_runs(uri, "churn")}
    only_pipeline = runs_json(root, "--pipeline", "pipelines/train.py")
    assert {r["tags"]["expenv.runner"] for r in only_pipeline} == {"local"}
    assert runs_json(root, "--branch", "release/1.0") == []
    assert all(r["url"].startswith(uri) for r in every)


def test_compare_puts_params_and_metrics_side_by_side(tracked_workspace, tracking, local_run):
    root, _ = tracked_workspace
    subprocess.run([sys.executable, "pipelines/train.py"], cwd=root, env={**os.environ, "AUC": "0.8", "C": "0.1"},
                   check=True, timeout=180)
    ids = [r["run_id"] for r in runs_json(root, "--pipeline", "pipelines/train.py")][:2]
    comparison = tracking.compare(ids)
    assert comparison.params["C"][ids[0]] == "0.1" and comparison.params["C"][ids[1]] == "1.0"
    assert comparison.differing_params == ["C"]
    assert comparison.metrics["auc"][ids[0]] == pytest.approx(0.8)


def test_filter_values_with_quotes_are_refused(tracked_workspace):
    root, _ = tracked_workspace
    result = subprocess.run([sys.executable, "-m", "expenv", "runs", "ls", "-w", str(root), "--branch", "x' or '1"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 1 and "may not contain quotes" in result.stderr


def test_runs_refuse_clearly_when_no_server_is_up(tmp_path):
    (tmp_path / "expenv.toml").write_text('[project]\nname = "idle"\n[tracking]\nuri = "http://ann:pw123@127.0.0.1:9"\n')
    result = subprocess.run([sys.executable, "-m", "expenv", "runs", "ls", "-w", str(tmp_path)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    assert "MLflow at http://ann:***@127.0.0.1:9 failed" in result.stderr
    assert "pw123" not in result.stderr + result.stdout
