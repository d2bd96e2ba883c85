"""What a submission refuses, with the reason a user can act on: the sourcing policy on a
production-like target, bad names and values, an engine or a tracking server that is not there.
Nothing is started or recorded for a refused submission, and the daemon keeps serving."""

from __future__ import annotations

import subprocess
import time

import pytest
from pygls.exceptions import JsonRpcException

from tests.lsp.session import command, start
from tests.pipelines.conftest import expenv, expenv_json

pytestmark = [pytest.mark.docker, pytest.mark.timeout(1800)]

RAW_READ = 'import pandas as pd\nraw = pd.read_parquet("data/raw/customers.parquet")\n'


def _run_ids(root) -> set[str]:
    return {r["id"] for r in expenv_json(root, "pipeline", "ls")["runs"]}


def _unrecorded_leftovers(root, docker_client) -> list[str]:
    """Containers and driver processes of this workspace's runs that were never recorded. A docker
    submission starts its first step's container and its driver while it is checked; a refusal
    removes both (the driver within a few seconds)."""
    from expenv.domain.clusters import workspace_label

    recorded = _run_ids(root)
    found = []
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        containers = docker_client.containers.list(all=True, filters={"label": f"expenv.workspace={workspace_label(root)}"})
        found = [f"container {c.name}" for c in containers if c.labels.get("expenv.run") not in recorded]
        drivers = subprocess.run(["pgrep", "-af", "expenv.services.pipelines.driver"], capture_output=True, text=True)
        found += [f"driver {line}" for line in drivers.stdout.splitlines()
                  if str(root) in line and not any(run in line.split() for run in recorded)]
        if not found:
            break
        time.sleep(0.5)
    return found


async def test_a_raw_read_is_refused_on_a_production_like_target_from_the_cli_and_the_editor(vscode, churn_repo,
                                                                                              docker_client):
    root = churn_repo["root"]
    path = root / "pipelines" / "boom.py"
    original = path.read_text()
    before = _run_ids(root)
    path.write_text(RAW_READ + original)
    try:
        result = expenv(root, "pipeline", "submit", "flaky", "--target", "strict")
        await start(vscode, root)
        with pytest.raises(JsonRpcException) as refused:
            await command(vscode, "expenv.pipelines.submit", {"pipeline": "flaky", "target": "strict"})
        # the same pipeline on the (not production-like) dev target is not checked: only rendered here
        rendered = await command(vscode, "expenv.pipelines.render", {"pipeline": "flaky", "target": "dev"})
    finally:
        path.write_text(original)
    assert result.returncode == 1
    assert "pipelines/boom.py:2:" in result.stderr and "direct read of raw data" in result.stderr
    assert "pipelines/boom.py:2:" in str(refused.value) and "feature store" in str(refused.value)
    assert [r["step"] for r in rendered["resources"]] == ["boom", "after"]
    assert _run_ids(root) == before
    assert _unrecorded_leftovers(root, docker_client) == []


@pytest.mark.parametrize("args,message", [
    (["submit", "nope", "--target", "dev"], "unknown pipeline 'nope' (pipelines: train, flaky, sleeper)"),
    (["submit", "train", "--target", "mars"], "unknown target 'mars' (targets: dev, preprod, strict)"),
    (["submit", "train", "--target", "dev", "-p", "sead=8"], "pipeline train has no parameter 'sead'"),
    (["submit", "train", "--target", "dev", "-p", "seed=eight"], "parameter train.seed must be an int, not 'eight'"),
    (["submit", "train", "--target", "dev", "-p", "seed"], "--param 'seed' must be NAME=VALUE"),
    (["status", "no-such-run"], "no pipeline run 'no-such-run'"),
])
def test_bad_input_is_a_clear_error_naming_the_field(churn_repo, args, message):
    root = churn_repo["root"]
    before = _run_ids(root)
    result = expenv(root, "pipeline", *args)
    assert result.returncode in (1, 2)
    assert message in " ".join(result.stderr.split()), result.stderr
    assert _run_ids(root) == before


def test_docker_engine_down_is_said_and_nothing_is_recorded(churn_repo):
    root = churn_repo["root"]
    before = _run_ids(root)
    result = expenv(root, "pipeline", "submit", "flaky", "--target", "dev",
                    env={"DOCKER_HOST": f"unix://{root}/.expenv/no-engine.sock"})
    assert result.returncode == 1
    assert "no Docker engine answers" in result.stderr
    assert _run_ids(root) == before


async def test_the_daemon_keeps_serving_after_bad_input(vscode, churn_repo):
    root = churn_repo["root"]
    await start(vscode, root)
    with pytest.raises(JsonRpcException, match="parameter train.seed must be an int"):
        await command(vscode, "expenv.pipelines.submit", {"pipeline": "train", "target": "dev",
                                                          "params": {"seed": "eight"}})
    with pytest.raises(JsonRpcException, match="target is missing"):
        await command(vscode, "expenv.pipelines.submit", {"pipeline": "train"})
    listed = await command(vscode, "expenv.pipelines.list", {})
    assert [p["name"] for p in listed["pipelines"]] == ["train", "flaky", "sleeper"]
    assert listed == expenv_json(root, "pipeline", "ls")
