"""Position encoding: columns are Python characters, so the daemon picks UTF-32 when the client
offers it and UTF-16 (the LSP default) otherwise, never UTF-8 (where "Zürich" would shift columns)."""

from __future__ import annotations

import pytest

from tests.conftest import DAEMON_CMD
from tests.lsp.jsonrpc_client import RawLspClient

LINE = 'note = "Zürich 😀"; customers = pd.read_parquet("data/raw/customers.parquet")'


def _initialize(client: RawLspClient, root, encodings: list[str] | None) -> dict:
    capabilities = {"general": {"positionEncodings": encodings}} if encodings is not None else {}
    uri = root.as_uri()
    return client.request("initialize", {"processId": None, "rootUri": uri, "capabilities": capabilities,
                                         "workspaceFolders": [{"uri": uri, "name": "churn"}]})["result"]


@pytest.mark.parametrize(("offered", "chosen"), [
    (["utf-8", "utf-16", "utf-32"], "utf-32"),   # Neovim's order
    (["utf-8", "utf-16"], "utf-16"),
    (None, "utf-16"),
])
def test_the_daemon_counts_in_code_points_when_it_can(example_project, offered, chosen):
    client = RawLspClient(DAEMON_CMD)
    try:
        result = _initialize(client, example_project, offered)
        assert result["capabilities"]["positionEncoding"] == chosen
        client.notify("initialized", {})
        if chosen == "utf-32":
            uri = (example_project / "encoding.py").as_uri()
            text = f"import pandas as pd\n{LINE}\n"
            client.notify("textDocument/didOpen", {"textDocument": {
                "uri": uri, "languageId": "python", "version": 1, "text": text}})
            column = LINE.index("customers.parquet")   # a code point index: what UTF-32 counts
            hover = client.request("textDocument/hover", {"textDocument": {"uri": uri},
                                                          "position": {"line": 1, "character": column}})["result"]
            assert hover is not None and "customers" in hover["contents"]["value"]
        assert client.finish() == 0
    finally:
        if client.proc.poll() is None:
            client.proc.kill()
