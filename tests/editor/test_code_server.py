"""The real editor: code-server with the packaged extension, driven by Playwright in chromium.
The extension activates on the example workspace and its daemon answers from the palette."""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from tests.conftest import REPO

pytestmark = pytest.mark.editor
SCRIPTS = REPO / "devcontainer" / "scripts"


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


def test_editor_shows_the_workspace_and_the_extension_answers(tools, editor, tmp_path):
    root, url = editor
    node24 = os.path.join(tools, "node24", "node_modules", "node", "bin", "node")
    shot = tmp_path / "editor.png"
    result = subprocess.run(
        [node24, str(REPO / "tests" / "editor" / "drive.mjs"), url, str(shot)], capture_output=True, text=True,
        timeout=600, env={**os.environ, "PLAYWRIGHT_CORE": os.path.join(tools, "playwright", "node_modules",
                                                                       "playwright-core")})
    assert result.returncode == 0, result.stderr[-3000:]
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    assert seen["explorer"] is True
    assert "expenv.status:" in seen["notification"], seen
    assert shot.stat().st_size > 10_000
