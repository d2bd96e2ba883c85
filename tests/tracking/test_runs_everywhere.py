"""One MLflow for notebook and local runs: each lands in the project's experiment with expenv's tags,
read back through MLflow's own client and through `expenv runs`."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.tracking.conftest import runs_json


def _mlflow_runs(uri: str, experiment: str):
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=uri)
    exp = client.get_experiment_by_name(experiment)
    return client.search_runs([exp.experiment_id]) if exp else []


@pytest.fixture(scope="module")
def local_run(tracked_workspace, tracking):
    root, _ = tracked_workspace
    env = {**os.environ, **tracking.child_env("local", pipeline="pipelines/train.py", step="train"), "AUC": "0.71"}
    result = subprocess.run([sys.executable, "pipelines/train.py"], cwd=root, env=env, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr


@pytest.fixture(scope="module")
def notebook_run(tracked_workspace, tracking):
    from jupyter_client.manager import start_new_kernel

    root, _ = tracked_workspace
    env = {**os.environ, **tracking.child_env("notebook")}
    km, kc = start_new_kernel(kernel_name="python3", cwd=str(root), env=env)
    try:
        reply = kc.execute_interactive(
            "import mlflow, os\nmlflow.set_experiment(os.environ['MLFLOW_EXPERIMENT_NAME'])\n"
            "with mlflow.start_run(run_name='from-notebook'):\n    mlflow.log_metric('auc', 0.69)\n",
            timeout=120)
        assert reply["content"]["status"] == "ok", reply["content"]
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


def test_local_and_notebook_runs_land_in_one_experiment_with_tags(tracked_workspace, tracking, local_run,
                                                                    notebook_run):
    root, sha = tracked_workspace
    runs = _mlflow_runs(tracking.uri(), "churn")
    by_runner = {r.data.tags.get("expenv.runner"): r for r in runs}
    assert {"local", "notebook"} <= set(by_runner)
    for runner in ("local", "notebook"):
        tags = by_runner[runner].data.tags
        assert tags["mlflow.source.git.commit"] == sha
        assert tags["mlflow.source.git.branch"] == "feature/x"
        assert tags["expenv.stage"] == "dev"
    assert by_runner["local"].data.tags["expenv.pipeline"] == "pipelines/train.py"
    assert by_runner["local"].data.tags["expenv.step"] == "train"
    assert by_runner["local"].data.metrics["auc"] == pytest.approx(0.71)
    assert by_runner["notebook"].data.metrics["auc"] == pytest.approx(0.69)


def test_expenv_runs_filters_and_matches_mlflow(tracked_workspace, tracking, local_run, notebook_run):
    root, _ = tracked_workspace
    every = runs_json(root)
    assert {r["run_id"] for r in every} == {r.info.run_id for r in _mlflow_runs(tracking.uri(), "churn")}
    only_pipeline = runs_json(root, "--pipeline", "pipelines/train.py")
    assert {r["tags"]["expenv.runner"] for r in only_pipeline} == {"local"}
    assert runs_json(root, "--branch", "release/1.0") == []
    assert all(r["url"].startswith(tracking.uri()) for r in every)


def test_compare_puts_params_and_metrics_side_by_side(tracked_workspace, tracking, local_run):
    root, _ = tracked_workspace
    env = {**os.environ, **tracking.child_env("local", pipeline="pipelines/train.py"), "AUC": "0.8", "C": "0.1"}
    subprocess.run([sys.executable, "pipelines/train.py"], cwd=root, env=env, check=True, timeout=120)
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
