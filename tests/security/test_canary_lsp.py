"""Every LSP command the real `expenv serve` advertises (so commands added later are swept too),
and hovers, completions, code lenses, code actions, diagnostics, log and show messages, and the
daemon's stderr log: the planted canary must show in none of them. One daemon for the whole sweep;
every message it sends is recorded raw, as the client receives it."""

from __future__ import annotations

import json
import sys

from lsprotocol import types
from pytest_lsp import LanguageClient
from pytest_lsp.client import make_test_lsp_client

from tests.lsp.session import position_of, start
from tests.security.conftest import CANARY, leaks

# Sensible options per command (several calls for some: a good input and a failing one). A command
# missing here is still called, with {}, and its (error) answer swept.
COMMANDS: dict[str, list[dict]] = {
    "expenv.status": [{}, {"deep": True}],
    "expenv.data.list": [{}, {"layer": "curated"}],
    "expenv.data.schema": [{"dataset": "data/raw/customers.parquet"}, {"dataset": "curated.customers"},
                           {"dataset": "s3://lake/raw/x.parquet"}],
    "expenv.data.preview": [{"dataset": "data/raw/customers.parquet", "limit": 3}, {"dataset": "curated.customers"},
                            {"dataset": "s3://lake/raw/x.csv"}],
    "expenv.data.profile": [{"dataset": "data/raw/payments.csv"}, {"dataset": "curated.customers"}],
    "expenv.features.lineage": [{}],
    "expenv.features.apply": [{}],  # shows `feast plan`; the test client does not confirm
    "expenv.environment.parity": [{}],
    "expenv.environment.kernels": [{"action": "list"}, {"action": "start"}, {"action": "stop", "id": "nope"}],
    "expenv.tracking.runs": [{}],
    "expenv.tracking.compare": [{"run_ids": ["{run_id}", "{run_id}"]}],
    "expenv.tracking.open": [{"run_id": "{run_id}"}, {"run_id": "no-such-run"}],
    "expenv.clusters.launch": [{"profile": "no-such-profile"}],
    "expenv.clusters.attach": [{"target": "no-such-cluster"}],
    "expenv.clusters.list": [{}],
    "expenv.clusters.scale": [{"id": "no-such-cluster", "workers": 3}],
    "expenv.clusters.render": [{"profile": p} for p in ("dask-local", "spark-docker", "dask-k8s", "ray-k8s")],
    "expenv.clusters.stop": [{"all": True}],
    "expenv.pipelines.render": [{"name": "train", "target": "preprod"}],
    "expenv.pipelines.submit": [{"name": "train", "target": "dev"}],
}
EXPLORE = '''import pandas as pd
import duckdb

customers = pd.read_parquet("data/raw/customers.parquet")
remote = pd.read_parquet("s3://lake/raw/x.parquet")
table = duckdb.sql("SELECT * FROM curated.customers")
more = pd.read_csv("data/raw/
'''


def fill(options: dict, run_id: str) -> dict:
    return json.loads(json.dumps(options).replace("{run_id}", run_id))


async def start_recording(env: dict) -> tuple[LanguageClient, list[str]]:
    """A pytest-lsp client on a fresh `expenv serve`, recording every message the server sends."""
    client = make_test_lsp_client()
    client.profile = "visual_studio_code"
    received: list[str] = []
    structure = client.protocol.structure_message

    def record(data):
        if isinstance(data, dict) and "jsonrpc" in data:
            received.append(json.dumps(data))
        return structure(data)

    client.protocol.structure_message = record
    await client.start_io(sys.executable, "-m", "expenv", "serve", "--log-level", "DEBUG", env=env)
    return client, received


async def test_no_lsp_answer_notification_or_log_shows_a_planted_secret(canary_workspace, canary_env, mlflow_server,
                                                                         capfd):
    run_id = mlflow_server[1]
    client, received = await start_recording(canary_env)
    answers: dict[str, object] = {}
    try:
        init = await start(client, canary_workspace)
        advertised = list(init.capabilities.execute_command_provider.commands)
        ws = canary_workspace
        uris = {}
        for name, text in (("explore.py", EXPLORE), ("pipelines/train.py", (ws / "pipelines/train.py").read_text()),
                           ("expenv.toml", (ws / "expenv.toml").read_text())):
            uris[name] = (ws / name).as_uri()
            client.text_document_did_open(types.DidOpenTextDocumentParams(text_document=types.TextDocumentItem(
                uri=uris[name], language_id="toml" if name.endswith(".toml") else "python", version=1, text=text)))
        doc = types.TextDocumentIdentifier(uri=uris["explore.py"])
        for needle in ("data/raw/customers", "s3://lake/raw/x", "curated.customers"):
            pos = position_of(EXPLORE, needle, 3)
            await client.text_document_hover_async(types.HoverParams(text_document=doc, position=pos))
            await client.text_document_code_action_async(types.CodeActionParams(
                text_document=doc, range=types.Range(start=pos, end=pos), context=types.CodeActionContext(diagnostics=[])))
        for needle in ('"data/raw/', '"s3://lake/raw/x'):
            await client.text_document_completion_async(types.CompletionParams(
                text_document=doc, position=position_of(EXPLORE, needle, len(needle))))
        toml = (ws / "expenv.toml").read_text()
        for needle in ("storage_options", "url = ", "uri = "):
            await client.text_document_hover_async(types.HoverParams(
                text_document=types.TextDocumentIdentifier(uri=uris["expenv.toml"]), position=position_of(toml, needle, 2)))
        lenses = await client.text_document_code_lens_async(types.CodeLensParams(
            text_document=types.TextDocumentIdentifier(uri=uris["pipelines/train.py"])))
        for name in advertised:
            for options in COMMANDS.get(name, [{}]):
                key = f"{name} {json.dumps(fill(options, run_id))}"
                try:
                    answers[key] = await client.workspace_execute_command_async(
                        types.ExecuteCommandParams(command=name, arguments=[fill(options, run_id)]))
                except Exception as exc:  # noqa: BLE001 - an error answer is swept like any other
                    answers[key] = exc
    finally:
        try:
            listed = await client.workspace_execute_command_async(types.ExecuteCommandParams(
                command="expenv.environment.kernels", arguments=[{"action": "list"}]))
            for kernel in (listed or {}).get("kernels", []):
                await client.workspace_execute_command_async(types.ExecuteCommandParams(
                    command="expenv.environment.kernels", arguments=[{"action": "stop", "id": kernel["id"]}]))
        finally:
            await client.shutdown_session()
    stderr = capfd.readouterr().err
    found = [w for message in received for w in leaks(message)] + [f"stderr: {w}" for w in leaks(stderr)]
    assert not found, "the canary leaked:\n" + "\n".join(found)
    # The sweep really exercised the credentials: every advertised command answered, the runs came
    # through the credentialed tracking URI, and the lens offers to open the run.
    assert "expenv.status" in advertised and all(any(k.startswith(n + " ") for k in answers) for n in advertised)
    runs = answers['expenv.tracking.runs {}']
    assert [r["run_id"] for r in runs] == [run_id]
    assert lenses and lenses[0].command.command == "expenv.tracking.open"
    opened = answers[f'expenv.tracking.open {json.dumps({"run_id": run_id})}']
    assert opened["url"].startswith("http://127.0.0.1:") and run_id in opened["url"]
    assert any('"method": "window/logMessage"' in m for m in received)
