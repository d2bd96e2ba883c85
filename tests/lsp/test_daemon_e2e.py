"""End to end: the real `expenv serve` process over stdio, driven as VS Code and as Neovim would."""

from __future__ import annotations

from pathlib import Path

import pytest
from lsprotocol import types

from tests.lsp.session import start, status, wait_for


@pytest.mark.every_client
async def test_advertises_capabilities_and_commands(client, make_workspace):
    result = await start(client, make_workspace())
    caps = result.capabilities
    assert result.server_info.name == "expenv"
    assert "expenv.status" in caps.execute_command_provider.commands
    assert caps.workspace.workspace_folders.supported is True
    assert caps.workspace.workspace_folders.change_notifications is True


@pytest.mark.every_client
async def test_status_returns_version_config_and_parts(client, make_workspace):
    root = make_workspace()
    await start(client, root)
    report = await status(client)
    assert report["version"] == "0.1.0"
    [ws] = report["workspaces"]
    assert ws["root"] == str(root.resolve())
    assert ws["config"]["project"]["name"] == "churn"
    assert ws["config"]["clusters"]["dask-local"]["workers"] == 2
    assert set(report["parts"]) == {"docker", "kubernetes"}
    assert set(ws["parts"]) == {"mlflow", "feast"}
    # the feature repo folder does not exist in this workspace: said so, with a fix
    assert ws["parts"]["feast"]["ok"] is False and "feature_store.yaml" in ws["parts"]["feast"]["detail"]


async def test_status_never_shows_the_warehouse_password(client, make_workspace):
    await start(client, make_workspace())
    report = await status(client)
    url = report["workspaces"][0]["config"]["curated"]["url"]
    assert url == "postgresql://analyst:***@127.0.0.1:5432/warehouse"
    assert "s3cret-pw" not in str(report)
    assert all("s3cret-pw" not in m.message for m in client.log_messages)


@pytest.mark.every_client
async def test_malformed_config_gives_a_located_diagnostic_and_keeps_serving(client, make_workspace):
    root = make_workspace(config='[project]\nname = "x"\n\n[clusters.local]\nkind = "dask"\nworkers = "two"\n')
    await start(client, root)
    uri = (root / "expenv.toml").resolve().as_uri()
    await wait_for(lambda: uri in client.diagnostics)
    [diag] = client.diagnostics[uri]
    assert diag.severity == types.DiagnosticSeverity.Error
    assert (diag.range.start.line, diag.range.start.character) == (5, 0)
    assert "clusters.local.workers must be an integer, not a string" in diag.message
    report = await status(client)  # still serving
    assert report["workspaces"][0]["config"] is None
    assert report["workspaces"][0]["problems"][0]["line"] == 6


@pytest.mark.every_client
async def test_syntax_error_diagnostic_has_line_and_column(client, make_workspace):
    root = make_workspace(config='[project]\nname = "x\n')
    await start(client, root)
    uri = (root / "expenv.toml").resolve().as_uri()
    await wait_for(lambda: uri in client.diagnostics)
    [diag] = client.diagnostics[uri]
    assert diag.range.start.line == 1
    assert diag.message.startswith("TOML syntax error")


async def test_editing_the_config_reloads_services(client, make_workspace):
    root = make_workspace()
    await start(client, root)
    uri = (root / "expenv.toml").resolve().as_uri()
    text = (root / "expenv.toml").read_text()
    client.text_document_did_open(types.DidOpenTextDocumentParams(
        text_document=types.TextDocumentItem(uri=uri, language_id="toml", version=1, text=text)))
    await wait_for(lambda: uri in client.diagnostics)
    assert list(client.diagnostics[uri]) == []

    broken = text.replace('name = "churn"', 'name = 42')
    client.text_document_did_change(types.DidChangeTextDocumentParams(
        text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=2),
        content_changes=[types.TextDocumentContentChangeWholeDocument(text=broken)]))
    await wait_for(lambda: len(client.diagnostics[uri]) == 1)
    report = await status(client)
    # a broken edit keeps the last good services
    assert report["workspaces"][0]["config"]["project"]["name"] == "churn"

    fixed = text.replace('name = "churn"', 'name = "attrition"')
    client.text_document_did_change(types.DidChangeTextDocumentParams(
        text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=3),
        content_changes=[types.TextDocumentContentChangeWholeDocument(text=fixed)]))
    await wait_for(lambda: list(client.diagnostics[uri]) == [])
    report = await status(client)
    assert report["workspaces"][0]["config"]["project"]["name"] == "attrition"
    assert any("reloaded services" in m.message for m in client.log_messages)


async def test_config_changed_on_disk_reloads(client, make_workspace):
    root = make_workspace()
    await start(client, root)
    path = root / "expenv.toml"
    path.write_text(path.read_text().replace('"churn"', '"renamed"'))
    client.workspace_did_change_watched_files(types.DidChangeWatchedFilesParams(changes=[
        types.FileEvent(uri=path.resolve().as_uri(), type=types.FileChangeType.Changed)]))
    await wait_for(lambda: any("reloaded" in m.message for m in client.log_messages))
    assert (await status(client))["workspaces"][0]["config"]["project"]["name"] == "renamed"


async def test_one_daemon_serves_a_multi_root_workspace(client, make_workspace):
    a = make_workspace("a", '[project]\nname = "alpha"\n')
    b = make_workspace("b", '[project]\nname = "beta"\n[tracking]\nuri = 7\n')
    c = make_workspace("c", None)
    await start(client, a, b, c)
    report = await status(client)
    by_root = {Path(w["root"]).name: w for w in report["workspaces"]}
    assert by_root["a"]["config"]["project"]["name"] == "alpha"
    assert by_root["b"]["config"] is None and by_root["b"]["problems"][0]["key"] == "tracking.uri"
    assert by_root["c"]["config_file"] is None
    b_uri = (b / "expenv.toml").resolve().as_uri()
    await wait_for(lambda: b_uri in client.diagnostics)
    assert (a / "expenv.toml").resolve().as_uri() not in client.diagnostics or \
        list(client.diagnostics[(a / "expenv.toml").resolve().as_uri()]) == []

    d = make_workspace("d", '[project]\nname = "delta"\n')
    client.workspace_did_change_workspace_folders(types.DidChangeWorkspaceFoldersParams(
        event=types.WorkspaceFoldersChangeEvent(
            added=[types.WorkspaceFolder(uri=d.as_uri(), name="d")],
            removed=[types.WorkspaceFolder(uri=c.as_uri(), name="c")])))
    await wait_for(lambda: True)
    report = await status(client)
    names = sorted(Path(w["root"]).name for w in report["workspaces"])
    assert names == ["a", "b", "d"]


async def test_logs_reach_the_client_as_log_messages(client, make_workspace):
    await start(client, make_workspace())
    await wait_for(lambda: any(m.message.startswith("expenv 0.1.0 serving") for m in client.log_messages))


async def test_unknown_command_is_an_error_not_a_crash(client, make_workspace):
    await start(client, make_workspace())
    with pytest.raises(Exception, match="not defined"):
        await client.workspace_execute_command_async(types.ExecuteCommandParams(command="expenv.nope"))
    assert (await status(client))["version"] == "0.1.0"


@pytest.mark.every_client
async def test_shutdown_then_exit_ends_the_process_with_code_0(client, make_workspace):
    await start(client, make_workspace())
    await client.shutdown_session()
    assert client._server.returncode == 0
    client.capabilities = None  # already shut down: the fixture must not do it twice
