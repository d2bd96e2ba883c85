"""The daemon watches its own files, with every client: it registers watchers with a client that
supports dynamic registration (the VS Code profile), and polls by itself for one that does not
(the Neovim profile). Files change on disk, as `git checkout` or an editor in another window
would change them, never through didChange; the test's editor reports exactly what the
registered watchers cover (tests/lsp/session.py EditorFileWatcher)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from lsprotocol import types

from tests.lsp.session import (
    EditorFileWatcher,
    dynamic_file_watching,
    open_python,
    start,
    status,
    wait_for,
    watching_started,
)

pytestmark = pytest.mark.every_client   # watchers registered (VS Code) or polled by the daemon (Neovim)

FEATURE_STORE_YAML = "project: churn\nprovider: local\nregistry: data/registry.db\n"


def _git(root: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(root), "-c", "user.email=t@example.org", "-c", "user.name=t", *args],
                   check=True, capture_output=True, timeout=60)


async def test_watchers_cover_the_config_feature_repo_requirements_pipelines_and_branch(client, make_workspace):
    root = make_workspace()  # [features] repo = "features"
    (root / "features").mkdir()
    (root / "features" / "feature_store.yaml").write_text(FEATURE_STORE_YAML)
    _git(root, "init", "-q", "-b", "feature/x")
    editor = EditorFileWatcher(client, root)
    await start(client, root)
    await watching_started(client)
    depended_on = [root / "expenv.toml", root / "nested" / "expenv.toml", root / "features" / "feature_store.yaml",
                   root / "features" / "definitions.py", root / "features" / "views" / "profile.py",
                   root / "features" / "data" / "registry.db", root / "pipelines" / "requirements.txt",
                   root / "pipelines" / "train.py", root / ".git" / "HEAD"]
    if dynamic_file_watching(client):
        missed = [str(p.relative_to(root)) for p in depended_on if not editor.watched(p)]
        assert missed == []
        assert not editor.watched(root / "data" / "raw" / "events.csv")  # data is not a dependency
    else:
        assert client.registrations == {}  # Neovim: no dynamic registration, so the server polls
        # and its own poller notices each dependency change (what it means is in its log)
        touched = {"feature_repo": root / "features" / "definitions.py", "requirements": root / "pipelines" /
                   "requirements.txt", "pipelines": root / "pipelines" / "train.py", "git_head": root / ".git" / "HEAD"}
        for kind, path in touched.items():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text((path.read_text() if path.exists() else "") + "\n")
            await wait_for(lambda: any(kind in m.message and "changed for" in m.message for m in client.log_messages),
                           timeout=15)


SMALL_CONFIG = '[project]\nname = "churn"\n\n[data.raw]\nroots = ["data/raw"]\n'


async def test_config_changed_on_disk_reloads_services_and_diagnostics(client, make_workspace):
    """...and tells the editor's views to read again (`expenv/workspaceChanged` {workspace, what:
    "config"}, what the extension refreshes on instead of polling), only after a reload that took."""
    root = make_workspace(config=SMALL_CONFIG)
    config = root / "expenv.toml"
    uri = config.resolve().as_uri()
    changes: list[dict] = []
    client.feature("expenv/workspaceChanged")(lambda params: changes.append(
        {"workspace": params.workspace, "what": params.what}))
    editor = EditorFileWatcher(client, root)
    await start(client, root)
    await watching_started(client)

    good = config.read_text()
    config.write_text(good.replace('name = "churn"', "name = 42"))
    editor.send_changes()
    await wait_for(lambda: len(client.diagnostics.get(uri, [])) == 1, timeout=15)
    assert "name" in client.diagnostics[uri][0].message and client.diagnostics[uri][0].range.start.line == 1
    assert [c for c in changes if c["what"] == "config"] == []   # kept the last valid config: nothing changed

    config.write_text(good.replace('"churn"', '"attrition"'))
    editor.send_changes()
    await wait_for(lambda: list(client.diagnostics.get(uri, [None])) == [], timeout=15)
    await wait_for(lambda: {"workspace": str(root), "what": "config"} in changes, timeout=15)
    assert (await status(client))["workspaces"][0]["config"]["project"]["name"] == "attrition"


POLICY_CONFIG = """\
[project]
name = "churn"

[data.raw]
roots = ["data/raw"]

[policy]
feature_store_required = ["release/*"]
"""

TRAIN = 'import pandas as pd\n\nevents = pd.read_csv("data/raw/events.csv")\n'


async def test_git_checkout_in_a_terminal_changes_the_policy_verdict(client, make_workspace):
    root = make_workspace(config=POLICY_CONFIG)
    (root / "data" / "raw").mkdir(parents=True)
    (root / "data" / "raw" / "events.csv").write_text("customer_id,minutes\n1,30\n")
    (root / "pipelines").mkdir()
    (root / "pipelines" / "train.py").write_text(TRAIN)
    _git(root, "init", "-q", "-b", "feature/x")
    _git(root, "add", "-A")
    _git(root, "commit", "-q", "-m", "init")
    editor = EditorFileWatcher(client, root)
    await start(client, root)
    await watching_started(client)
    uri = open_python(client, root / "pipelines" / "train.py", TRAIN)

    def policy() -> list[types.Diagnostic]:
        return [d for d in client.diagnostics.get(uri, []) if d.code == "policy"]

    await wait_for(lambda: policy(), timeout=30)
    assert policy()[0].severity == types.DiagnosticSeverity.Information  # feature/x: not enforced

    _git(root, "checkout", "-q", "-b", "release/1.0")
    editor.send_changes()
    await wait_for(lambda: policy() and policy()[0].severity == types.DiagnosticSeverity.Error, timeout=30)
    assert "release/1.0" in policy()[0].message
