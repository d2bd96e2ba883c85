"""The local target through the editor's path (the real `expenv serve`): a script step, a
module:function step and a notebook step run as processes of the workspace's Python, nested under
one MLflow parent run; the code lenses that submit them."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from lsprotocol import types

from tests.lsp.session import command, start
from tests.pipelines.conftest import expenv, expenv_json, git, mlflow_get, mlflow_run

pytestmark = pytest.mark.timeout(1200)   # each step process imports mlflow: slow on a loaded machine

CONFIG = """[project]
name = "local-demo"

[targets.here]
backend = "local"

[pipelines.demo]
feature_service = "none_really"

[pipelines.demo.steps.prep]
python = "steps/prep.py"
params = { n = 2 }

[pipelines.demo.steps.look]
notebook = "notebooks/look.ipynb"
depends_on = ["prep"]
params = { n = 2 }

[pipelines.demo.steps.fit]
python = "steps.fit:main"
depends_on = ["look"]
params = { alpha = 0.5 }
"""
PREP = """import argparse, os, mlflow
print(f"prep niceness {os.nice(0)}", flush=True)
parser = argparse.ArgumentParser()
parser.add_argument("--n", type=int)
n = parser.parse_args().n
with mlflow.start_run():
    mlflow.log_metric("n", n)
for i in range(n):
    print(f"prep line {i}", flush=True)
"""
FIT = """import mlflow

def main(alpha):
    with mlflow.start_run():
        mlflow.log_metric("alpha", alpha)
    print(f"fit alpha={alpha}")
"""


def _notebook() -> str:
    import nbformat
    from nbformat import v4

    nb = v4.new_notebook()
    nb.metadata = {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}}
    params = v4.new_code_cell("n = 1")
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, v4.new_code_cell(
        "import mlflow\nwith mlflow.start_run():\n    mlflow.log_metric('looked', n)\nprint('looked at', n)")]
    return nbformat.writes(nb)


@pytest.fixture(scope="module")
def local_workspace(tmp_path_factory):
    root = tmp_path_factory.mktemp("local") / "demo"
    (root / "steps").mkdir(parents=True)
    (root / "notebooks").mkdir()
    (root / "expenv.toml").write_text(CONFIG)
    (root / "steps" / "__init__.py").write_text("")
    (root / "steps" / "prep.py").write_text(PREP)
    (root / "steps" / "fit.py").write_text(FIT)
    (root / "notebooks" / "look.ipynb").write_text(_notebook())
    (root / ".gitignore").write_text(".expenv/\n")
    git(root, "init", "-q", "-b", "feature/local")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "demo")
    up = expenv(root, "up", "--json", timeout=300)
    assert up.returncode == 0, up.stderr
    yield {"root": root, "uri": json.loads(up.stdout)["tracking_uri"], "sha": git(root, "rev-parse", "HEAD")}
    expenv(root, "down", timeout=120)


async def test_submit_over_lsp_streams_logs_and_nests_step_runs(vscode, local_workspace):
    root, uri = local_workspace["root"], local_workspace["uri"]
    await start(vscode, root)
    result = await command(vscode, "expenv.pipelines.submit",
                           {"pipeline": "demo", "target": "here", "params": {"n": 3}, "wait": True})
    assert result["status"] == "FINISHED", result
    assert [s["name"] for s in result["steps"]] == ["prep", "look", "fit"]
    assert (str(root), "pipelines") in vscode.workspace_changes   # the Runs view shows the new run
    lines = [(p["step"], p["line"]) if isinstance(p, dict) else (p.step, p.line)
             for p in vscode.pipeline_logs if not (isinstance(p, dict) and "status" in p)]
    assert [line for step, line in lines if step == "prep" and line.startswith("prep line")] == [
        "prep line 0", "prep line 1", "prep line 2"]
    assert ("fit", "fit alpha=0.5") in lines
    # a local step yields the CPU to the editor and its daemon (process_state.background)
    assert ("prep", f"prep niceness {min(os.nice(0) + 10, 19)}") in lines
    parent = mlflow_run(uri, result["mlflow_run_id"])
    assert parent["status"] == "FINISHED"
    assert parent["params"] == {"prep.n": "3", "look.n": "3", "fit.alpha": "0.5"}
    assert parent["tags"]["mlflow.source.git.commit"] == local_workspace["sha"]
    assert parent["tags"]["expenv.feature_service"] == "none_really"
    assert parent["metrics"] == {"prep.n": 3.0, "look.looked": 3.0, "fit.alpha": 0.5}
    for step in result["steps"]:
        child = mlflow_run(uri, step["mlflow_run_id"])
        assert child["status"] == "FINISHED" and child["tags"]["mlflow.parentRunId"] == result["mlflow_run_id"]
    look = result["steps"][1]["mlflow_run_id"]
    assert [f["path"] for f in mlflow_get(uri, "artifacts/list", run_id=look)["files"]] == ["look.ipynb"]
    # the CLI reads the same record and the same logs
    assert expenv_json(root, "pipeline", "status", result["id"])["status"] == "FINISHED"
    logs = expenv_json(root, "pipeline", "logs", result["id"])
    assert {"step": "fit", "line": "fit alpha=0.5"} in logs["lines"]


async def test_code_lenses_submit_each_pipeline_and_notebook(vscode, local_workspace):
    root = local_workspace["root"]
    await start(vscode, root)
    config = root / "expenv.toml"
    vscode.text_document_did_open(types.DidOpenTextDocumentParams(text_document=types.TextDocumentItem(
        uri=config.as_uri(), language_id="toml", version=1, text=config.read_text())))
    lenses = await vscode.text_document_code_lens_async(types.CodeLensParams(
        text_document=types.TextDocumentIdentifier(uri=config.as_uri())))
    [lens] = lenses
    assert lens.range.start.line == CONFIG.splitlines().index("[pipelines.demo]")
    assert lens.command.title == "Submit pipeline demo on here"
    assert lens.command.command == "expenv.pipelines.submit"
    assert lens.command.arguments[0] == {"pipeline": "demo", "target": "here", "workspace": str(root)}


def test_runs_survive_the_process_that_submitted_them(local_workspace):
    """submit returns at once; the run goes on and ends FINISHED, seen from another process."""
    from tests.pipelines.conftest import wait_for_status

    root = local_workspace["root"]
    run = expenv_json(root, "pipeline", "submit", "demo", "--target", "here", "-p", "prep.n=1")
    assert run["status"] in ("PENDING", "RUNNING")
    done = wait_for_status(root, run["id"], lambda r: r["status"] not in ("PENDING", "RUNNING"), timeout=600)
    assert done["status"] == "FINISHED" and done["params"]["prep"] == {"n": 1}
    assert subprocess.run([sys.executable, "-c", "print(1)"]).returncode == 0


async def test_a_notebook_runs_as_a_one_step_pipeline_from_its_lens(vscode, local_workspace):
    root, uri = local_workspace["root"], local_workspace["uri"]
    await start(vscode, root)
    notebook = root / "notebooks" / "look.ipynb"
    [cell] = [c for c in __import__("nbformat").read(notebook, as_version=4).cells[:1]]
    cell_uri = f"vscode-notebook-cell:{notebook}#W0sZmlsZQ%3D%3D"
    vscode.notebook_document_did_open(types.DidOpenNotebookDocumentParams(
        notebook_document=types.NotebookDocument(uri=notebook.as_uri(), notebook_type="jupyter-notebook", version=1,
                                                 cells=[types.NotebookCell(kind=types.NotebookCellKind.Code,
                                                                           document=cell_uri)]),
        cell_text_documents=[types.TextDocumentItem(uri=cell_uri, language_id="python", version=1,
                                                    text=cell.source)]))
    lenses = await vscode.text_document_code_lens_async(types.CodeLensParams(
        text_document=types.TextDocumentIdentifier(uri=cell_uri)))
    [lens] = [lens for lens in lenses or [] if lens.command.command == "expenv.pipelines.runNotebook"]
    assert lens.command.title == "Run this notebook as a pipeline step on here" and lens.command.arguments[0]["alone"]
    # look.ipynb is the `look` step of the demo pipeline: a second lens runs that whole pipeline
    [whole] = [lens for lens in lenses if lens.command.command == "expenv.pipelines.submit"]
    assert whole.command.title == "Run pipeline demo (this notebook is a step of it) on here"
    assert whole.command.arguments[0] == {"pipeline": "demo", "target": "here", "workspace": str(root)}
    result = await command(vscode, "expenv.pipelines.runNotebook", {**lens.command.arguments[0], "wait": True})
    assert result["status"] == "FINISHED" and result["pipeline"] == "notebook-look", result
    child = mlflow_run(uri, result["steps"][0]["mlflow_run_id"])
    assert child["metrics"] == {"looked": 1.0} and child["status"] == "FINISHED"
