"""Fault: the Feast registry file is deleted under a running daemon (a `git clean`, a wiped data
folder). The user is told where they look (a diagnostic on feature_store.yaml's `registry` line,
naming the file and the fix), the daemon keeps serving everything else, and `feast apply` brings
the feature features back (part of the hardening suite, here to share the applied example)."""

from __future__ import annotations

import pytest_lsp
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient

from tests.conftest import DAEMON_CMD
from tests.features.conftest import feast
from tests.lsp.session import EditorFileWatcher, command, end_session, open_python, position_of, start, wait_for, watching_started

USES = '''from feast import FeatureStore

store = FeatureStore(repo_path="features")
training = store.get_historical_features(
    entity_df=labels,
    features=["customer_profile:age", "customer_profile:no_such_feature"],
)
'''


@pytest_lsp.fixture(config=ClientServerConfig(server_command=DAEMON_CMD))
async def vscode(lsp_client: LanguageClient):
    lsp_client.profile = "visual_studio_code"
    yield
    await end_session(lsp_client)


async def hover_text(client: LanguageClient, uri: str) -> str | None:
    result = await client.text_document_hover_async(types.HoverParams(
        text_document=types.TextDocumentIdentifier(uri=uri), position=position_of(USES, "customer_profile:age", 3)))
    return result.contents.value if result else None


async def test_a_deleted_registry_is_a_clear_diagnostic_the_rest_keeps_serving_and_apply_recovers(vscode,
                                                                                                  example_copy):
    editor = EditorFileWatcher(vscode, example_copy)
    await start(vscode, example_copy)
    await watching_started(vscode)
    uri = open_python(vscode, example_copy / "explore.py", USES)
    yaml_uri = (example_copy / "features" / "feature_store.yaml").resolve().as_uri()

    def unknown_feature() -> bool:
        return any("no_such_feature" in d.message for d in vscode.diagnostics.get(uri, []))

    def registry_missing() -> list[str]:
        return [d.message for d in vscode.diagnostics.get(yaml_uri, []) if "registry" in d.message]

    await wait_for(unknown_feature, timeout=120)
    assert "view `customer_profile`" in await hover_text(vscode, uri)

    registry = example_copy / "features" / "data" / "registry.db"
    registry.unlink()   # the fault
    editor.send_changes()
    await wait_for(registry_missing, timeout=60)
    assert str(registry) in registry_missing()[0] and "expenv features apply" in registry_missing()[0]
    hover = await hover_text(vscode, uri)   # the hover on a reference says why it knows nothing of it
    assert f"the registry {registry} does not exist yet" in hover and "expenv features apply" in hover, hover
    # the rest keeps serving
    status = await command(vscode, "expenv.status", {})
    assert status["workspaces"][0]["root"] == str(example_copy)
    assert "runs" in await command(vscode, "expenv.pipelines.list", {})
    assert await command(vscode, "expenv.data.list", {"layer": "raw"}) == []   # the copy holds no raw data

    feast(example_copy / "features", "apply")   # the fix the diagnostic names, run in a terminal
    editor.send_changes()
    await wait_for(lambda: not registry_missing() and unknown_feature(), timeout=120)
    assert "view `customer_profile`" in await hover_text(vscode, uri)
