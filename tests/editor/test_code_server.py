"""The real editor: code-server with the packaged extension, driven by Playwright in chromium.
The extension activates on the example workspace and its daemon answers from the palette."""

from __future__ import annotations

import json
import os
import subprocess
import sys
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
