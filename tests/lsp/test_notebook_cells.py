"""A cell's problems read the notebook's other cells: when one cell changes, the others are checked
again (lsp/features/config_file.py `notebook_changed`)."""

from __future__ import annotations

from lsprotocol import types

from tests.lsp.session import open_notebook, start, wait_for

LOCAL = "from pyspark.sql import SparkSession\nspark = SparkSession.builder.getOrCreate()\n"
REMOTE = 'from pyspark.sql import SparkSession\nspark = SparkSession.builder.remote("sc://127.0.0.1:15002").getOrCreate()\n'
USE = "rdd = spark.sparkContext.parallelize([1, 2, 3])\n"


def _spark_connect(client, uri: str) -> list:
    return [d for d in client.diagnostics.get(uri, []) if "no SparkContext" in d.message]


async def test_a_change_to_one_cell_rechecks_the_cells_that_read_it(client, make_workspace):
    root = make_workspace(config='[project]\nname = "nb"\n')
    await start(client, root)
    notebook = root / "scratch.ipynb"
    cells = open_notebook(client, notebook, [LOCAL, USE])
    await wait_for(lambda: cells[1] in client.diagnostics and cells[0] in client.diagnostics, timeout=60)
    assert _spark_connect(client, cells[1]) == []   # a local session has a SparkContext
    # the first cell now connects to Spark Connect: the second cell, unchanged, gets the problem
    client.notebook_document_did_change(types.DidChangeNotebookDocumentParams(
        notebook_document=types.VersionedNotebookDocumentIdentifier(uri=notebook.as_uri(), version=2),
        change=types.NotebookDocumentChangeEvent(cells=types.NotebookDocumentCellChanges(text_content=[
            types.NotebookDocumentCellContentChanges(
                document=types.VersionedTextDocumentIdentifier(uri=cells[0], version=2),
                changes=[types.TextDocumentContentChangeWholeDocument(text=REMOTE)])]))))
    await wait_for(lambda: _spark_connect(client, cells[1]), timeout=60)
    [problem] = _spark_connect(client, cells[1])
    assert problem.range.start.line == 0
