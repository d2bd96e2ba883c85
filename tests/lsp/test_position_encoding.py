"""Position encoding: columns are Python characters, so the daemon picks UTF-32 when the client
offers it and UTF-16 (the LSP default) otherwise, never UTF-8 (where "Zürich" would shift columns)."""

from __future__ import annotations

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient

from tests.conftest import DAEMON_CMD
from tests.lsp.jsonrpc_client import RawLspClient
from tests.lsp.session import end_session, open_python, start, wait_for

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


# ---- a UTF-16 client (VS Code) after characters outside the BMP ------------------------------

EMOJI_LINE = 'note = "😀🚀 ok 🎉"; events = pd.read_parquet("data/raw/events.parquet")'
PIPELINE = f"import pandas as pd\n\n{EMOJI_LINE}\n"
DATASET = "data/raw/events.parquet"


def utf16(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def utf16_slice(line: str, start: int, end: int) -> str:
    return line.encode("utf-16-le")[2 * start:2 * end].decode("utf-16-le")


@pytest.fixture
def emoji_workspace(tmp_path):
    """A user's pipeline file with emoji before a raw read on the same line."""
    import duckdb

    root = tmp_path / "emoji"
    (root / "data" / "raw").mkdir(parents=True)
    (root / "pipelines").mkdir()
    (root / "expenv.toml").write_text('[project]\nname = "emoji"\n\n[data.raw]\nroots = ["data/raw"]\n')
    duckdb.connect().execute(f"COPY (SELECT range AS event_id FROM range(3)) TO '{root / DATASET}'")
    (root / "pipelines" / "train.py").write_text(PIPELINE)
    return root


@pytest_lsp.fixture(config=ClientServerConfig(server_command=DAEMON_CMD))
async def vscode(lsp_client: LanguageClient):
    lsp_client.profile = "visual_studio_code"
    yield
    await end_session(lsp_client)


async def test_a_utf16_client_gets_hovers_and_ranges_in_its_units_after_emoji(vscode, emoji_workspace):
    result = await start(vscode, emoji_workspace)
    assert result.capabilities.position_encoding in (None, types.PositionEncodingKind.Utf16)
    path = emoji_workspace / "pipelines" / "train.py"
    uri = open_python(vscode, path, PIPELINE)
    first, last = EMOJI_LINE.index(DATASET), EMOJI_LINE.index(DATASET) + len(DATASET)   # code points
    # the cursor on the dataset's last character, counted as VS Code counts
    at_end = types.Position(line=2, character=utf16(EMOJI_LINE[:last - 1]))
    hover = await vscode.text_document_hover_async(types.HoverParams(
        text_document=types.TextDocumentIdentifier(uri=uri), position=at_end))
    assert hover is not None and "event_id" in hover.contents.value
    assert (hover.range.start.character, hover.range.end.character) == (utf16(EMOJI_LINE[:first]),
                                                                          utf16(EMOJI_LINE[:last]))
    assert utf16_slice(EMOJI_LINE, hover.range.start.character, hover.range.end.character) == DATASET

    await wait_for(lambda: any(d.code == "policy" for d in vscode.diagnostics.get(uri, [])), timeout=60)
    [policy] = [d for d in vscode.diagnostics[uri] if d.code == "policy"]
    assert policy.range.start.line == 2
    covered = utf16_slice(EMOJI_LINE, policy.range.start.character, policy.range.end.character)
    assert covered == DATASET, covered   # the read's dataset string, as in `expenv check`

    actions = await vscode.text_document_code_action_async(types.CodeActionParams(
        text_document=types.TextDocumentIdentifier(uri=uri), range=types.Range(start=at_end, end=at_end),
        context=types.CodeActionContext(diagnostics=[])))
    assert "Insert a loading snippet" in [a.title for a in actions or []]
