"""Parity in the editor, over LSP against the real production image: imports the image lacks and
`%pip install`s of packages it lacks get a warning in .py files and notebook cells, with the code
action "Add to the production requirements" that edits the file the image installs."""

from __future__ import annotations

import importlib.metadata

import pytest
from lsprotocol import types

from tests.lsp.session import open_notebook, open_python, start, wait_for

pytestmark = [pytest.mark.docker, pytest.mark.timeout(1200)]

PYGLS = f"pygls=={importlib.metadata.version('pygls')}"   # in this (kernel) venv, not in the image


def _codes(client, uri: str, code: str) -> list[types.Diagnostic]:
    return [d for d in client.diagnostics.get(uri, []) if d.code == code]


async def test_an_import_the_image_lacks_is_a_warning_with_the_requirement_fix(client, example_project,
                                                                                production_image):
    await start(client, example_project)
    text = "import os\nimport pandas\nfrom sklearn.pipeline import Pipeline\nfrom pygls.lsp.server import LanguageServer\n"
    uri = open_python(client, example_project / "pipelines" / "serve.py", text)
    await wait_for(lambda: _codes(client, uri, "parity_import"), timeout=180)
    [finding] = _codes(client, uri, "parity_import")   # os (stdlib), pandas, sklearn are in the image
    assert finding.severity == types.DiagnosticSeverity.Warning
    assert (finding.range.start.line, finding.range.start.character, finding.range.end.character) == (3, 5, 21)
    assert "not installed in the production image expenv-test-churn-prod:latest" in finding.message
    assert PYGLS in finding.message

    actions = await client.text_document_code_action_async(types.CodeActionParams(
        text_document=types.TextDocumentIdentifier(uri=uri), range=finding.range,
        context=types.CodeActionContext(diagnostics=[finding])))
    [fix] = [a for a in actions or [] if isinstance(a, types.CodeAction)
             and a.title.startswith("Add to the production requirements")]
    assert fix.title == f"Add to the production requirements: {PYGLS} (pipelines/requirements.txt)"
    [change] = fix.edit.document_changes
    requirements = example_project / "pipelines" / "requirements.txt"
    assert change.text_document.uri == requirements.resolve().as_uri()
    [edit] = change.edits
    before = requirements.read_text()
    assert (edit.range.start.line, edit.range.start.character) == (0, 0)
    assert edit.new_text == before.rstrip("\n") + f"\n{PYGLS}\n"   # every line kept, one appended


async def test_a_hand_install_in_a_notebook_cell_is_a_warning_and_its_import_too(client, example_project,
                                                                                  production_image):
    await start(client, example_project)
    cells = open_notebook(client, example_project / "notebooks" / "scratch.ipynb", [
        "%pip install --quiet pygls pandas\nimport pandas", "import pygls\nprint(pygls)"])
    await wait_for(lambda: _codes(client, cells[0], "parity_pip") and _codes(client, cells[1], "parity_import"),
                   timeout=180)
    [pip] = _codes(client, cells[0], "parity_pip")   # pandas is in the image
    assert (pip.range.start.line, pip.range.start.character, pip.range.end.character) == (0, 21, 26)
    assert "installed by hand in the kernel" in pip.message and pip.data == {"requirement": PYGLS}
    assert _codes(client, cells[0], "parity_import") == []
    [imported] = _codes(client, cells[1], "parity_import")
    assert imported.range.start.line == 0

    # a cell edited to drop the hand install loses its warning
    client.notebook_document_did_change(types.DidChangeNotebookDocumentParams(
        notebook_document=types.VersionedNotebookDocumentIdentifier(
            uri=(example_project / "notebooks" / "scratch.ipynb").as_uri(), version=2),
        change=types.NotebookDocumentChangeEvent(cells=types.NotebookDocumentCellChanges(text_content=[
            types.NotebookDocumentCellContentChanges(
                document=types.VersionedTextDocumentIdentifier(uri=cells[0], version=2),
                changes=[types.TextDocumentContentChangeWholeDocument(text="import pandas\n")])]))))
    await wait_for(lambda: _codes(client, cells[0], "parity_pip") == [], timeout=60)

    # a closed notebook's cells keep no warnings
    client.notebook_document_did_close(types.DidCloseNotebookDocumentParams(
        notebook_document=types.NotebookDocumentIdentifier(
            uri=(example_project / "notebooks" / "scratch.ipynb").as_uri()),
        cell_text_documents=[types.TextDocumentIdentifier(uri=u) for u in cells]))
    await wait_for(lambda: list(client.diagnostics[cells[1]]) == [], timeout=30)
