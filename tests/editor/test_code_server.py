"""The real editor: code-server with the packaged extension, driven by Playwright in chromium.
The extension activates on the example workspace and its daemon answers from the palette."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import REPO

pytestmark = pytest.mark.editor
SCRIPTS = REPO / "devcontainer" / "scripts"
# screenshots kept after the run (the suite's artifacts)
ARTIFACTS = Path(os.environ.get("EXPENV_TEST_ARTIFACTS", REPO / ".expenv" / "test-artifacts")) / "editor"


@pytest.fixture(scope="module")
def tools() -> str:
    result = subprocess.run(["bash", str(SCRIPTS / "ensure-editor.sh")], capture_output=True, text=True, timeout=1200)
    assert result.returncode == 0, result.stderr  # fails, not skips, when the editor cannot be installed
    return result.stdout.strip().splitlines()[-1]


@pytest.fixture(scope="module")
def editor(tools, tmp_path_factory):
    from expenv.services.example import create_example

    root = tmp_path_factory.mktemp("editor") / "churn"
    create_example(root, rows=5000)
    started = subprocess.run(["bash", str(SCRIPTS / "editor.sh"), "start", str(root)], capture_output=True,
                             text=True, timeout=600)
    assert started.returncode == 0, started.stderr
    yield root, started.stdout.strip().splitlines()[-1]
    subprocess.run(["bash", str(SCRIPTS / "editor.sh"), "stop", str(root)], timeout=60)


def _cli_json(root, *args: str):
    """What `expenv ... --json` answers in the workspace, as a user reads it."""
    ran = subprocess.run([sys.executable, "-m", "expenv", *args, "--json"], cwd=root, capture_output=True, text=True,
                         timeout=300)
    assert ran.returncode == 0, ran.stderr
    return json.loads(ran.stdout)


def test_editor_shows_the_workspace_and_the_extension_answers(tools, editor):
    root, url = editor
    node24 = os.path.join(tools, "node24", "node_modules", "node", "bin", "node")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shot = ARTIFACTS / "code-server.png"   # then -views.png (all views, status bar), -data.png
    result = subprocess.run(
        [node24, str(REPO / "tests" / "editor" / "drive.mjs"), url, str(shot)], capture_output=True, text=True,
        timeout=600, env={**os.environ, "PLAYWRIGHT_CORE": os.path.join(tools, "playwright", "node_modules",
                                                                       "playwright-core")})
    assert result.returncode == 0, result.stderr[-3000:]
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    assert seen["explorer"] is True
    assert "expenv.status:" in seen["notification"], seen
    assert shot.stat().st_size > 10_000

    # the Data view lists every dataset `expenv data ls` lists, under its raw root or curated schema
    assert "viewsError" not in seen, seen.get("viewsError")
    datasets = _cli_json(root, "data", "ls")
    expected = {e["ref"]["name"].rsplit("/", 1)[-1] if e["ref"]["layer"] == "raw" else e["ref"]["name"].split(".", 1)[1]
                for e in datasets}
    assert len(expected) >= 5 and expected <= set(seen["dataView"]), seen["dataView"]
    assert {"data/raw", "curated"} <= set(seen["dataView"])
    # the status bar: the daemon's item, the running clusters (none), and the stage when the
    # daemon reports one (the extension derives none itself)
    assert "expenv" in seen["statusBar"] and "0" in seen["statusBar"], seen["statusBar"]
    status = _cli_json(root, "status")
    stage = status["workspaces"][0].get("stage", status.get("stage"))
    if stage:
        name = stage if isinstance(stage, str) else stage.get("stage") or stage.get("name")
        assert any(name in item for item in seen["statusBar"]), seen["statusBar"]
    assert (ARTIFACTS / "code-server-views.png").stat().st_size > 10_000
    assert (ARTIFACTS / "code-server-data.png").stat().st_size > 10_000


def _executed(path) -> list | None:
    """The notebook's code cells once every one has run (saved with its outputs), else None."""
    import nbformat

    try:
        cells = [c for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code"]
    except Exception:  # noqa: BLE001 - the editor may be writing the file right now
        return None
    return cells if cells and all(c.execution_count for c in cells) else None


def test_the_example_notebook_runs_on_the_expenv_controller_and_its_run_is_tagged(tools, editor):
    """Open notebooks/explore.ipynb, run all on "expenv: production image" (no kernel pick), save:
    every cell ran without error, and the last cell's MLflow run carries the notebook runner tag."""
    root, url = editor
    _cli_json(root, "up")   # the embedded MLflow the kernel logs to, as a user starts it
    try:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        node24 = os.path.join(tools, "node24", "node_modules", "node", "bin", "node")
        result = subprocess.run(
            [node24, str(REPO / "tests" / "editor" / "drive_notebook.mjs"), url, str(ARTIFACTS / "notebook")],
            capture_output=True, text=True, timeout=1200,
            env={**os.environ, "PLAYWRIGHT_CORE": os.path.join(tools, "playwright", "node_modules", "playwright-core")})
        assert result.returncode == 0, result.stderr[-3000:]
        seen = json.loads(result.stdout.strip().splitlines()[-1])
        assert "failure" not in seen, seen
        assert seen["kernel"] == "expenv: production image", seen
        assert seen["errors"] == 0, seen
        path = root / "notebooks" / "explore.ipynb"
        deadline = time.monotonic() + 60
        while (cells := _executed(path)) is None and time.monotonic() < deadline:
            time.sleep(0.5)
        assert cells, f"{path} was not saved with every cell executed"
        assert not [o for c in cells for o in c.outputs if o.output_type == "error"]
        last = cells[-1].outputs[-1]
        assert last.output_type == "execute_result"   # saved as Jupyter writes it
        run_id = ast.literal_eval(last["data"]["text/plain"])
        uri = _cli_json(root, "status")["workspaces"][0]["tracking_uri"]
        with urllib.request.urlopen(f"{uri}/api/2.0/mlflow/runs/get?run_id={run_id}", timeout=30) as response:
            run = json.loads(response.read())["run"]
        tags = {t["key"]: t["value"] for t in run["data"]["tags"]}
        assert tags["expenv.runner"] == "notebook"
        assert {m["key"] for m in run["data"]["metrics"]} >= {"auc"}
    finally:
        _cli_json(root, "down")


def _grid_check_csv(path) -> None:
    """A dataset a user drops into the raw root: 150 rows (two grid pages), some values missing."""
    lines = ["id,plan,score"]
    for i in range(150):
        plan = "" if i % 7 == 3 else ("pro", "basic", "team")[i % 3]
        score = "" if i % 11 == 5 else f"{(i * 37) % 101 / 4}"
        lines.append(f"{i},{plan},{score}")
    path.write_text("\n".join(lines) + "\n")


@pytest.mark.timeout(1200)   # `feast apply` alone takes minutes on a loaded machine
def test_preview_grid_and_lineage_graph_webviews(tools, editor):
    """From the Data view, a dataset's preview grid shows the daemon's column types and marks its
    nulls; a column sorts; Next reads the next page from the daemon. The lineage graph (palette)
    shows the daemon's nodes, and a click on a feature view opens its definition at its line."""
    root, url = editor
    dataset, feature_view = "data/raw/grid_check.csv", "feature_view:customer_profile"
    _grid_check_csv(root / dataset)
    applied = subprocess.run([sys.executable, "-m", "expenv", "features", "apply", "--yes"], cwd=root,
                             capture_output=True, text=True, timeout=600)   # the registry the lineage reads
    assert applied.returncode == 0, applied.stderr
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    node24 = os.path.join(tools, "node24", "node_modules", "node", "bin", "node")
    result = subprocess.run(
        [node24, str(REPO / "tests" / "editor" / "drive_webviews.mjs"), url, str(ARTIFACTS / "webviews"), dataset,
         "score", feature_view], capture_output=True, text=True, timeout=900,
        env={**os.environ, "PLAYWRIGHT_CORE": os.path.join(tools, "playwright", "node_modules", "playwright-core")})
    assert result.returncode == 0, result.stderr[-3000:]
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    print("webview e2e step durations (ms):", seen["timings"])
    assert "failure" not in seen, seen

    schema = _cli_json(root, "data", "schema", dataset)
    first = _cli_json(root, "data", "preview", dataset, "--limit", "100")
    second = _cli_json(root, "data", "preview", dataset, "--limit", "100", "--offset", "100")
    grid = seen["grid"]
    assert [(h["name"], h["type"]) for h in grid["headers"]] == [(c["name"], c["type"]) for c in schema["columns"]]
    assert grid["nullLabel"] == "NULL" and grid["nullCells"] > 0
    assert [[v is None for v in row] for row in grid["rows"]] == [[v is None for v in row] for row in first["rows"]]
    assert [row[0] for row in grid["rows"]] == [str(row[0]) for row in first["rows"]]

    score = schema["columns"].index(next(c for c in schema["columns"] if c["name"] == "score"))
    shown = [row[score] for row in seen["sorted"]["rows"]]
    values = [float(v) for v in shown if v is not None]
    assert values == sorted(values) and shown[len(values):] == [None] * (len(shown) - len(values))  # nulls last
    assert sorted(values) == sorted(row[score] for row in first["rows"] if row[score] is not None)
    # the next page holds the daemon's rows 101-150, still sorted by score within the page
    next_ids = [row[0] for row in seen["nextPage"]["rows"]]
    assert sorted(next_ids, key=int) == [str(row[0]) for row in second["rows"]]
    next_scores = [float(row[score]) for row in seen["nextPage"]["rows"] if row[score] is not None]
    assert next_scores == sorted(next_scores) and len(next_scores) < len(next_ids)
    assert seen["nextPage"]["range"].startswith("Rows 101–150 of 150"), seen["nextPage"]["range"]

    lineage = _cli_json(root, "features", "lineage")
    assert set(seen["lineageNodes"]) == {n["id"] for n in lineage["nodes"]} and seen["lineageEdges"] > 0
    definition = next(n for n in lineage["nodes"] if n["id"] == feature_view)["attrs"]["definition"]
    path, line = definition.rsplit(":", 1)
    assert seen["definitionTab"].startswith(Path(path).name), seen
    assert seen["cursor"].startswith(f"Ln {line},"), seen
