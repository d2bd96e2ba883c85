"""Fault: a corrupt parquet file appears in a raw root under a running daemon. Hover, schema,
preview and profile of it give a clear error naming the file; every other Data feature keeps
serving (the real `expenv serve`, the CLI for the same dataset)."""

from __future__ import annotations

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient

from tests.conftest import DAEMON_CMD
from tests.lsp.session import command, end_session, open_python, position_of, start
from tests.pipelines.conftest import expenv

CONFIG = '[project]\nname = "corrupt"\n\n[data.raw]\nroots = ["data/raw"]\n'
CODE = ('import pandas as pd\n'
        'good = pd.read_parquet("data/raw/good.parquet")\n'
        'bad = pd.read_parquet("data/raw/broken.parquet")\n')


@pytest_lsp.fixture(config=ClientServerConfig(server_command=DAEMON_CMD))
async def vscode(lsp_client: LanguageClient):
    lsp_client.profile = "visual_studio_code"
    yield
    await end_session(lsp_client)


@pytest.fixture
def raw_workspace(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    root = tmp_path / "corrupt"
    (root / "data" / "raw").mkdir(parents=True)
    (root / "expenv.toml").write_text(CONFIG)
    pq.write_table(pa.table({"customer_id": [1, 2, 3], "plan": ["a", "b", "c"]}), root / "data/raw/good.parquet")
    return root


async def hover_text(client: LanguageClient, uri: str, needle: str) -> str:
    result = await client.text_document_hover_async(types.HoverParams(
        text_document=types.TextDocumentIdentifier(uri=uri), position=position_of(CODE, needle, 12)))
    assert result is not None, f"no hover on {needle}"
    return result.contents.value


async def test_a_corrupt_parquet_file_is_a_clear_error_and_the_rest_keeps_serving(vscode, raw_workspace):
    await start(vscode, raw_workspace)
    uri = open_python(vscode, raw_workspace / "explore.py", CODE)
    assert "| customer_id |" in await hover_text(vscode, uri, "data/raw/good")
    # the fault: a file that claims to be parquet but is not (a truncated upload, a bad copy)
    good = (raw_workspace / "data/raw/good.parquet").read_bytes()
    (raw_workspace / "data/raw/broken.parquet").write_bytes(b"PAR1" + good[4:len(good) // 2])

    text = await hover_text(vscode, uri, "data/raw/broken")
    assert "broken.parquet" in text and "Traceback" not in text
    for name in ("expenv.data.schema", "expenv.data.preview", "expenv.data.profile"):
        with pytest.raises(Exception) as failed:
            await command(vscode, name, {"dataset": "data/raw/broken.parquet"})
        message = str(failed.value)
        assert "broken.parquet" in message and "Traceback" not in message, (name, message)
    # every other Data feature keeps serving, in the same daemon
    listed = await command(vscode, "expenv.data.list", {})
    assert {"data/raw/good.parquet", "data/raw/broken.parquet"} <= {d["ref"]["name"] for d in listed}
    assert (await command(vscode, "expenv.data.schema", {"dataset": "data/raw/good.parquet"}))["row_count"] == 3
    assert (await command(vscode, "expenv.data.profile", {"dataset": "data/raw/good.parquet"}))["row_count"] == 3
    assert "| customer_id |" in await hover_text(vscode, uri, "data/raw/good")
    # the terminal says the same, naming the file, without a traceback
    cli = expenv(raw_workspace, "data", "preview", "data/raw/broken.parquet", "--json")
    assert cli.returncode != 0 and "broken.parquet" in cli.stderr and "Traceback" not in cli.stderr
