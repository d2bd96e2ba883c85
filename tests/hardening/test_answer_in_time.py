"""The event loop never waits on a slow backend. An S3 endpoint that takes connections and never
answers (as a hung object store does): the hover on its dataset answers with what is known, and
while that listing is still blocked, hovers, completions, code actions and commands on other data
are answered in full. Once the endpoint gives up, the next hover shows what the background found."""

from __future__ import annotations

import asyncio
import socket
import threading

import pytest_lsp
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient

from tests.conftest import DAEMON_CMD
from tests.data.conftest import free_port
from tests.lsp.session import accept_registrations, command, end_session, open_python, position_of, start, wait_for

SOURCE = '''import pandas as pd
remote = pd.read_parquet("s3://lake/raw/customers.parquet")
local = pd.read_parquet("data/raw/customers.parquet")
usage = pd.read_parquet("s3://lake/raw/usage")
'''


class HeldEndpoint:
    """Accepts connections on 127.0.0.1:port and holds them open without a byte of answer."""

    def __init__(self, port: int):
        self.sock = socket.create_server(("127.0.0.1", port))
        self.held: list[socket.socket] = []
        self.lock, self.gone = threading.Lock(), False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn = self.sock.accept()[0]
            except OSError:
                return
            with self.lock:   # one accepted as the endpoint went away would be held for ever
                if self.gone:
                    conn.close()
                    return
                self.held.append(conn)

    def still_blocked(self) -> bool:
        """A client is connected and has not given up (it has not closed its side)."""
        for conn in list(self.held):
            conn.setblocking(False)
            try:
                while conn.recv(65536):
                    pass
                continue             # b"": the client closed
            except BlockingIOError:
                return True          # open, nothing more to read: still waiting for our answer
            except OSError:
                continue
        return False

    def give_up(self) -> None:
        """The endpoint goes away: held connections reset, new ones refused."""
        with self.lock:
            self.gone = True
            self.sock.close()
            for conn in self.held:
                conn.close()


@pytest_lsp.fixture(config=ClientServerConfig(server_command=DAEMON_CMD))
async def client(lsp_client: LanguageClient):
    lsp_client.profile = "visual_studio_code"
    accept_registrations(lsp_client)
    yield
    await end_session(lsp_client)


def _workspace(make_workspace, port: int, timeout_ms: int = 300):
    import duckdb

    root = make_workspace("slow", f'''[project]
name = "slow"

[data.raw]
roots = ["data/raw", "s3://lake/raw"]
# a store that hangs for as long as the test needs (not the 20 s expenv allows by default)
storage_options = {{ endpoint_url = "http://127.0.0.1:{port}", key = "k", secret = "s", config_kwargs = {{ read_timeout = 900 }} }}

[lsp]
answer_timeout_ms = {timeout_ms}
''')
    (root / "data" / "raw").mkdir(parents=True)
    duckdb.sql(f"COPY (SELECT range AS customer_id, range % 7 AS plan FROM range(500)) "
               f"TO '{root / 'data' / 'raw' / 'customers.parquet'}'")
    return root


async def _hover(client, uri, needle) -> str | None:
    found = await client.text_document_hover_async(types.HoverParams(
        text_document=types.TextDocumentIdentifier(uri=uri), position=position_of(SOURCE, needle, 3)))
    return found.contents.value if found else None


async def _actions(client, uri, needle):
    at = position_of(SOURCE, needle, 3)
    return await client.text_document_code_action_async(types.CodeActionParams(
        text_document=types.TextDocumentIdentifier(uri=uri), range=types.Range(start=at, end=at),
        context=types.CodeActionContext(diagnostics=[])))


async def test_a_hung_object_store_does_not_hold_up_the_editor(client, make_workspace):
    port = free_port()
    endpoint = HeldEndpoint(port)
    try:
        root = _workspace(make_workspace, port)
        await start(client, root)
        uri = open_python(client, root / "explore.py", SOURCE)

        first = await _hover(client, uri, "s3://lake")
        assert "s3://lake/raw/customers.parquet" in first and "schema loading" in first
        await wait_for(endpoint.still_blocked, 30)   # the listing is under way, blocked on the endpoint

        local = await _hover(client, uri, "data/raw/customers")
        assert "| customer_id |" in local and "500 rows" in local
        completion = await client.text_document_completion_async(types.CompletionParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            position=position_of(SOURCE, "data/raw/customers", len("data/raw/"))))
        assert "data/raw/customers.parquet" in [i.label for i in completion.items]
        known = await _actions(client, uri, "s3://lake/raw/customers")   # a file URL: known without asking S3
        assert "expenv.data.profile" in [getattr(a, "command", None) for a in known]
        folder = await _actions(client, uri, "s3://lake/raw/usage")       # a folder: only S3 can say; it is slow
        assert "expenv.data.profile" not in [getattr(a, "command", None) for a in folder or []]
        assert (await command(client, "expenv.status", {}))["workspaces"]
        again = await _hover(client, uri, "s3://lake")
        assert "schema loading" in again
        assert endpoint.still_blocked(), "everything above was answered while the S3 listing was blocked"

        endpoint.give_up()
        answers: list[str] = []

        async def failure_shown() -> bool:
            answers.append(await _hover(client, uri, "s3://lake"))
            return "cannot" in answers[-1]

        # Each hover is answered within the time limit, until the background call ends: the S3
        # client's own retries after the reset can take a minute and more on a loaded machine.
        deadline = asyncio.get_running_loop().time() + 200
        while asyncio.get_running_loop().time() < deadline:
            if await failure_shown():
                break
        assert "cannot" in answers[-1] and "s3://lake/raw" in answers[-1], answers[-1]
    finally:
        endpoint.give_up()



async def test_the_editor_setting_overrides_the_project_s_answer_time(client, make_workspace):
    """expenv.toml lets a hover wait a minute; the user's `expenv.answerTimeoutMs` (300) wins."""
    port = free_port()
    endpoint = HeldEndpoint(port)
    try:
        root = _workspace(make_workspace, port, timeout_ms=60_000)
        await start(client, root, options={"settings": {"answerTimeoutMs": 300}})
        uri = open_python(client, root / "explore.py", SOURCE)
        first = await asyncio.wait_for(_hover(client, uri, "s3://lake"), 30)   # not the project's 60 s
        assert "s3://lake/raw/customers.parquet" in first and "schema loading" in first
        await wait_for(endpoint.still_blocked, 30)   # it answered while the listing was still blocked
    finally:
        endpoint.give_up()


async def test_a_reload_while_background_work_runs_leaves_that_work_to_the_old_services(client, make_workspace):
    """Background work reads the services it started with (a consistent snapshot): an S3 listing
    blocked under way while the config is edited on disk to drop the S3 root. The reload takes
    without waiting for it, hovers answer from the new config while the old listing is blocked, and
    once the endpoint goes and that listing fails, the new services show nothing of it."""
    from tests.lsp.session import EditorFileWatcher, watching_started

    port = free_port()
    endpoint = HeldEndpoint(port)
    try:
        root = _workspace(make_workspace, port)
        editor = EditorFileWatcher(client, root)
        await start(client, root)
        await watching_started(client)
        uri = open_python(client, root / "explore.py", SOURCE)
        assert "schema loading" in await _hover(client, uri, "s3://lake")
        await wait_for(endpoint.still_blocked, 30)   # the listing is under way, on the old services

        config = root / "expenv.toml"
        config.write_text(config.read_text().replace('roots = ["data/raw", "s3://lake/raw"]', 'roots = ["data/raw"]'))
        editor.send_changes()

        async def roots() -> list[str]:
            return (await command(client, "expenv.status", {}))["workspaces"][0]["config"]["raw"]["roots"]

        deadline = asyncio.get_running_loop().time() + 30
        while await roots() != ["data/raw"]:
            assert asyncio.get_running_loop().time() < deadline, "the config was not reloaded"
            await asyncio.sleep(0.2)
        assert endpoint.still_blocked(), "the reload waited for the old services' background work"
        # the new services: S3 is no root of the workspace any more (no hover: not one of our datasets)
        assert await _hover(client, uri, "s3://lake") is None
        local = await _hover(client, uri, "data/raw/customers")
        assert "| customer_id |" in local and "500 rows" in local

        endpoint.give_up()   # the old listing now fails, retrying: its failure is not the new services'
        for _ in range(3):
            assert await _hover(client, uri, "s3://lake") is None
            assert "500 rows" in await _hover(client, uri, "data/raw/customers")
        assert await roots() == ["data/raw"]
    finally:
        endpoint.give_up()
