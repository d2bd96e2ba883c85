"""Tracking in the editor: the runs and compare commands, and the code lens over an entrypoint."""

from __future__ import annotations

import os
import subprocess
import sys

from lsprotocol import types

from tests.lsp.session import command, open_python, start
from tests.tracking.conftest import runs_json


async def test_runs_command_matches_the_cli(client, tracked_workspace, tracking):
    root, _ = tracked_workspace
    env = {**os.environ, **tracking.child_env("local", pipeline="pipelines/train.py"), "AUC": "0.75"}
    subprocess.run([sys.executable, "pipelines/train.py"], cwd=root, env=env, check=True, timeout=120)
    await start(client, root)
    over_lsp = await command(client, "expenv.tracking.runs", {"pipeline": "pipelines/train.py"})
    assert over_lsp == runs_json(root, "--pipeline", "pipelines/train.py")
    assert over_lsp[0]["metrics"]["auc"] == 0.75
    report = await command(client, "expenv.status", {})
    assert report["workspaces"][0]["tracking_uri"] == tracking.uri()


async def test_code_lens_shows_the_latest_run_and_opens_it(client, tracked_workspace, tracking):
    root, _ = tracked_workspace
    env = {**os.environ, **tracking.child_env("local", pipeline="pipelines/train.py"), "AUC": "0.8125"}
    subprocess.run([sys.executable, "pipelines/train.py"], cwd=root, env=env, check=True, timeout=120)
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
