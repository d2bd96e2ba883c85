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
    with pytest.MonkeyPatch.context() as env:   # the drivers log in with it, as a user would
        env.setenv("EXPENV_EDITOR_PASSWORD", (root / ".expenv" / "editor" / "password").read_text().strip())
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


def test_the_editor_asks_for_the_password_of_this_start(editor):
    """Anyone who opens the editor gets a terminal (and the Docker socket): code-server wants the
    password that editor.sh generated at this start, kept readable by its owner only."""
    import http.cookiejar
    import stat
    import urllib.parse

    root, url = editor
    password = root / ".expenv" / "editor" / "password"
    assert stat.S_IMODE(password.stat().st_mode) == 0o600
    assert len(password.read_text().strip()) >= 20
    with urllib.request.urlopen(url, timeout=30) as answer:   # no session: sent to the login page
        assert urllib.parse.urlparse(answer.url).path.endswith("/login")
    login = urllib.parse.urljoin(url, "login")

    def session_after(attempt: str) -> bool:
        jar = http.cookiejar.CookieJar()
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
        opener.open(login, urllib.parse.urlencode({"password": attempt}).encode(), timeout=30).close()
        return any(c.name.startswith("code-server-session") for c in jar)

    assert not session_after("not-the-password")
    assert session_after(password.read_text().strip())
