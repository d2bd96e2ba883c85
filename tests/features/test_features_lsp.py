"""The feature store in the editor, end to end over LSP: hover, completion, definition,
references, diagnostics (unknown references, the sourcing policy, a broken repo), the rewrite
code action and the lineage command."""

from __future__ import annotations

import json
import subprocess
import sys

from lsprotocol import types

from expenv.domain.features import TextEdit, apply_edits
from tests.lsp.session import command, open_notebook, open_python, position_of, start, wait_for

RETRIEVAL = '''from feast import FeatureStore

store = FeatureStore(repo_path="features")
training = store.get_historical_features(
    entity_df=labels,
    features=["customer_profile:age", "customer_usage_stats:minutes_3m", "customer_profile:no_such_feature"],
)
online = store.get_online_features(features=store.get_feature_service("churn_model_v1"), entity_rows=[])
'''


async def test_hover_on_a_feature_reference_shows_view_type_source_and_downstream(client, example_copy):
    await start(client, example_copy)
    uri = open_python(client, example_copy / "explore.py", RETRIEVAL)
    hover = await client.text_document_hover_async(types.HoverParams(
        text_document=types.TextDocumentIdentifier(uri=uri), position=position_of(RETRIEVAL, "customer_profile:age", 3)))
    text = hover.contents.value
    assert "`customer_profile:age`" in text and "view `customer_profile`" in text and "`customer`" in text
    assert "TTL 730 d" in text
    assert "churn_model_v1" in text  # the service that uses it is downstream


async def test_hover_on_a_feature_service_lists_its_features(client, example_copy):
    await start(client, example_copy)
    uri = open_python(client, example_copy / "explore.py", RETRIEVAL)
    hover = await client.text_document_hover_async(types.HoverParams(
        text_document=types.TextDocumentIdentifier(uri=uri), position=position_of(RETRIEVAL, "churn_model_v1", 2)))
    assert "feature service `churn_model_v1`" in hover.contents.value
    assert "| age | customer_profile |" in hover.contents.value


async def test_completion_of_view_feature_references(client, example_copy):
    await start(client, example_copy)
    text = 'store.get_historical_features(entity_df=df, features=["customer_profile:'
    uri = open_python(client, example_copy / "draft.py", text)
    result = await client.text_document_completion_async(types.CompletionParams(
        text_document=types.TextDocumentIdentifier(uri=uri), position=types.Position(line=0, character=len(text))))
    labels = {i.label for i in result.items}
    assert {"customer_profile:age", "customer_profile:plan"} <= labels


async def test_definition_goes_to_the_feature_view_in_the_repo(client, example_copy):
    await start(client, example_copy)
    uri = open_python(client, example_copy / "explore.py", RETRIEVAL)
    location = await client.text_document_definition_async(types.DefinitionParams(
        text_document=types.TextDocumentIdentifier(uri=uri), position=position_of(RETRIEVAL, "customer_profile:age", 3)))
    assert location.uri == (example_copy / "features" / "definitions.py").resolve().as_uri()
    definitions = (example_copy / "features" / "definitions.py").read_text().split("\n")
    assert "customer_profile" in "\n".join(definitions[location.range.start.line: location.range.start.line + 3])


async def test_references_find_every_use_of_a_view(client, example_copy):
    (example_copy / "uses.py").write_text('features = ["customer_profile:age", "customer_profile:plan"]\n')
    (example_copy / "explore.py").write_text(RETRIEVAL)
    await start(client, example_copy)
    uri = open_python(client, example_copy / "explore.py", RETRIEVAL)
    found = await client.text_document_references_async(types.ReferenceParams(
        text_document=types.TextDocumentIdentifier(uri=uri), position=position_of(RETRIEVAL, "customer_profile:age", 3),
        context=types.ReferenceContext(include_declaration=True)))
    uses = {(loc.uri.rsplit("/", 1)[-1], loc.range.start.line) for loc in found}
    assert ("uses.py", 0) in uses
    assert ("explore.py", 5) in uses


async def test_references_read_the_editors_unsaved_text(client, example_copy):
    """An open file's unsaved edits, a new file never saved, and an open notebook's cells count;
    what is only on disk under an open file's name does not."""
    (example_copy / "explore.py").write_text('stale = ["customer_profile:age"]\n')
    await start(client, example_copy)
    uri = open_python(client, example_copy / "explore.py", RETRIEVAL)          # edited, not saved
    open_python(client, example_copy / "draft.py", '\n\nx = "customer_profile:age"\n')  # never saved
    cells = open_notebook(client, example_copy / "notebooks" / "draft.ipynb",
                          ["import pandas", 'v = ["customer_profile:age"]'])
    found = await client.text_document_references_async(types.ReferenceParams(
        text_document=types.TextDocumentIdentifier(uri=uri), position=position_of(RETRIEVAL, "customer_profile:age", 3),
        context=types.ReferenceContext(include_declaration=True)))
    uses = {(loc.uri, loc.range.start.line) for loc in found}
    assert (uri, 5) in uses and (uri, 0) not in uses
    assert ((example_copy / "draft.py").as_uri(), 2) in uses
    assert (cells[1], 0) in uses


async def test_unknown_feature_is_a_diagnostic(client, example_copy):
    await start(client, example_copy)
    uri = open_python(client, example_copy / "explore.py", RETRIEVAL)
    await wait_for(lambda: uri in client.diagnostics, timeout=180)
    messages = [d.message for d in client.diagnostics[uri]]
    assert any("has no feature 'no_such_feature'" in m for m in messages), messages
    assert not any("'age'" in m for m in messages)
    # closed: what was said about its unsaved text is withdrawn
    client.text_document_did_close(types.DidCloseTextDocumentParams(
        text_document=types.TextDocumentIdentifier(uri=uri)))
    await wait_for(lambda: list(client.diagnostics[uri]) == [], timeout=180)


async def test_broken_feature_store_yaml_is_a_diagnostic_on_that_file(client, example_copy):
    (example_copy / "features" / "feature_store.yaml").write_text("project: churn\nprovider: [local\n")
    await start(client, example_copy)
    uri = (example_copy / "features" / "feature_store.yaml").resolve().as_uri()
    await wait_for(lambda: uri in client.diagnostics, timeout=180)
    [diag] = client.diagnostics[uri]
    assert diag.severity == types.DiagnosticSeverity.Error and diag.range.start.line >= 1
    assert (await command(client, "expenv.status", {}))["version"] == "0.1.0"  # still serving


async def test_policy_diagnostic_and_rewrite_action_on_the_training_read(client, example):
    await start(client, example)
    path = example / "pipelines" / "train.py"
    source = path.read_text()
    uri = open_python(client, path, source)
    await wait_for(lambda: any(d.code == "policy" for d in client.diagnostics.get(uri, [])), timeout=180)
    [policy] = [d for d in client.diagnostics[uri] if d.code == "policy"]
    assert policy.severity == types.DiagnosticSeverity.Information  # no git branch: not enforced
    assert "curated" in policy.message
    actions = await client.text_document_code_action_async(types.CodeActionParams(
        text_document=types.TextDocumentIdentifier(uri=uri), range=policy.range,
        context=types.CodeActionContext(diagnostics=[policy])))
    [rewrite] = [a for a in actions if isinstance(a, types.CodeAction) and a.kind == types.CodeActionKind.QuickFix]
    edits = [TextEdit(e.range.start.line, e.range.start.character, e.range.end.line, e.range.end.character,
                      e.new_text) for e in rewrite.edit.changes[uri]]
    new_source = apply_edits(source, edits)
    assert 'store.get_feature_service("churn_model_v1")' in new_source
    compile(new_source, "train.py", "exec")


async def test_lineage_command_matches_the_cli(client, example):
    await start(client, example)
    over_lsp = await command(client, "expenv.features.lineage", {"center": "customer_profile", "depth": 2})
    cli = subprocess.run([sys.executable, "-m", "expenv", "features", "lineage", "customer_profile", "--depth", "2",
                          "--json"], cwd=example, capture_output=True, text=True, timeout=120)
    assert cli.returncode == 0, cli.stderr
    from_cli = json.loads(cli.stdout)
    assert {n["id"] for n in over_lsp["nodes"]} == {n["id"] for n in from_cli["nodes"]}
    assert "feature_service:churn_model_v1" in {n["id"] for n in over_lsp["nodes"]}
