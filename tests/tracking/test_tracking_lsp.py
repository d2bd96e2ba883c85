"""Tracking in the editor: the runs and compare commands, and the code lens over an entrypoint."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

from lsprotocol import types

from tests.lsp.session import command, open_python, start
from tests.tracking.conftest import assert_nothing_preset, run_named, runs_json, server_uri


def train(root: Path, auc: str) -> None:
    """`python pipelines/train.py` as typed in the workspace's terminal (AUC is the script's input)."""
    assert_nothing_preset()
    subprocess.run([sys.executable, "pipelines/train.py"], cwd=root, env={**os.environ, "AUC": auc}, check=True,
                   timeout=180)


async def test_runs_command_matches_the_cli(client, tracked_workspace, tracking):
    root, _ = tracked_workspace
    train(root, "0.75")
    await start(client, root)
    over_lsp = await command(client, "expenv.tracking.runs", {"pipeline": "pipelines/train.py"})
    assert over_lsp == runs_json(root, "--pipeline", "pipelines/train.py")
    assert over_lsp[0]["metrics"]["auc"] == 0.75
    report = await command(client, "expenv.status", {})
    assert report["workspaces"][0]["tracking_uri"] == tracking.uri()


async def test_code_lens_shows_the_latest_run_and_opens_it(client, tracked_workspace, tracking):
    root, _ = tracked_workspace
    train(root, "0.8125")
    await start(client, root)
    path = root / "pipelines" / "train.py"
    uri = open_python(client, path, path.read_text())
    [lens] = await client.text_document_code_lens_async(types.CodeLensParams(
        text_document=types.TextDocumentIdentifier(uri=uri)))
    assert lens.range.start.line == 2  # the __main__ guard
    assert lens.command.title.startswith("MLflow: finished · auc 0.8125")
    assert lens.command.command == "expenv.tracking.open"
    opened = await command(client, "expenv.tracking.open", lens.command.arguments[0])
    assert opened["url"].startswith(tracking.uri()) and lens.command.arguments[0]["run_id"] in opened["url"]


async def test_a_kernel_started_over_lsp_logs_to_the_workspace_with_tags(client, tracked_workspace):
    """`expenv.environment.kernels` {"action": "start"} through `expenv serve`: a cell's run lands in
    the project's experiment with the git and runner tags, nothing set by hand."""
    from expenv.services.kernels.client import execute

    root, sha = tracked_workspace
    assert_nothing_preset()
    await start(client, root)
    name = f"lsp-kernel-{uuid.uuid4().hex[:8]}"   # each client profile starts its own
    record = await command(client, "expenv.environment.kernels", {"action": "start"})
    try:
        result = execute(Path(record["connection_file"]), "import mlflow\n"
                         f"with mlflow.start_run(run_name={name!r}):\n    mlflow.log_metric('auc', 0.61)\n",
                         timeout=180)
        assert result.status == "ok", result
    finally:
        stopped = await command(client, "expenv.environment.kernels", {"action": "stop", "id": record["id"]})
    assert stopped["state"] == "stopped"
    assert record["tracking_uri"] == server_uri(root)
    run = run_named(server_uri(root), "churn", name)
    assert run["metrics"]["auc"] == 0.61
    assert {k: run["tags"].get(k) for k in ("mlflow.source.git.commit", "mlflow.source.git.branch",
                                            "expenv.stage", "expenv.runner")} == {
        "mlflow.source.git.commit": sha, "mlflow.source.git.branch": "feature/x", "expenv.stage": "dev",
        "expenv.runner": "notebook"}


async def test_no_lens_on_files_that_do_not_log(client, tracked_workspace):
    root, _ = tracked_workspace
    await start(client, root)
    uri = open_python(client, root / "util.py", "def f():\n    return 1\n")
    assert await client.text_document_code_lens_async(types.CodeLensParams(
        text_document=types.TextDocumentIdentifier(uri=uri))) is None


async def test_lens_says_when_the_server_is_down(client, make_workspace):
    root = make_workspace(config='[project]\nname = "x"\n[tracking]\nuri = "http://127.0.0.1:9"\n')
    await start(client, root)
    uri = open_python(client, root / "train.py", "import mlflow\nmlflow.log_metric('a', 1)\n")
    [lens] = await client.text_document_code_lens_async(types.CodeLensParams(
        text_document=types.TextDocumentIdentifier(uri=uri)))
    assert "does not answer" in lens.command.title
    assert (await command(client, "expenv.status", {}))["version"] == "0.1.0"
