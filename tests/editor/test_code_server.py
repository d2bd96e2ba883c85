"""The browser editor on this machine (`editor.sh start`, no devcontainer): code-server with the
packaged extension on loopback. Everything a user does in the editor is tested in the `make up`
devcontainer's editor (test_make_up.py); what is left here is this start mode's own: its password."""

from __future__ import annotations

import stat
import subprocess

import pytest

from tests.conftest import REPO
from tests.editor.checks import assert_login_wants_the_password

pytestmark = pytest.mark.editor
SCRIPTS = REPO / "devcontainer" / "scripts"


@pytest.fixture(scope="module")
def editor(tmp_path_factory):
    """code-server started by editor.sh on an empty folder (this mode's start, not the extension)."""
    tools = subprocess.run(["bash", str(SCRIPTS / "ensure-editor.sh")], capture_output=True, text=True, timeout=1200)
    assert tools.returncode == 0, tools.stderr  # fails, not skips, when the editor cannot be installed
    root = tmp_path_factory.mktemp("editor")
    started = subprocess.run(["bash", str(SCRIPTS / "editor.sh"), "start", str(root)], capture_output=True,
                             text=True, timeout=600)
    assert started.returncode == 0, started.stderr
    yield root, started.stdout.strip().splitlines()[-1]
    subprocess.run(["bash", str(SCRIPTS / "editor.sh"), "stop", str(root)], timeout=60)


def test_the_editor_asks_for_the_password_of_this_start(editor):
    """code-server wants the password that editor.sh generated at this start, kept readable by its
    owner only."""
    root, url = editor
    password = root / ".expenv" / "editor" / "password"
    assert stat.S_IMODE(password.stat().st_mode) == 0o600
    assert len(password.read_text().strip()) >= 20
    assert_login_wants_the_password(url, password.read_text().strip())
