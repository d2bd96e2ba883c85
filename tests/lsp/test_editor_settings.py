"""The editor's settings (VS Code's `expenv.*`), sent at start and on change, apply at once."""

from __future__ import annotations

import asyncio

from lsprotocol import types

from tests.lsp.session import open_python, start, status, wait_for

SPARK_CODE = '''from pyspark.sql import SparkSession

spark = SparkSession.builder.remote("sc://127.0.0.1:15002").getOrCreate()
rdd = spark.sparkContext.parallelize([1, 2])
'''


def change_settings(client, settings) -> None:
    # VS Code's client sends the whole `expenv` section on every change (synchronize.configurationSection)
    client.workspace_did_change_configuration(types.DidChangeConfigurationParams(settings={"expenv": settings}))


async def test_settings_apply_at_start_and_on_change_without_a_restart(client, make_workspace):
    root = make_workspace(config='[project]\nname = "settings"\n')
    await start(client, root, options={"settings": {
        "diagnostics": {"enabled": False}, "answerTimeoutMs": 250, "logLevel": "debug", "pythonPath": ""}})
    assert (await status(client))["editor_settings"] == {
        "diagnostics": False, "answer_timeout_ms": 250, "log_level": "debug"}
    uri = open_python(client, root / "job.py", SPARK_CODE)
    await wait_for(lambda: uri in client.diagnostics, timeout=30)
    assert list(client.diagnostics[uri]) == []   # the checks ran, and the user had turned them off

    change_settings(client, {"diagnostics": {"enabled": True}, "pythonPath": ""})
    await wait_for(lambda: len(client.diagnostics[uri]) > 0, timeout=30)
    assert [(d.range.start.line, d.message.split(":")[0]) for d in client.diagnostics[uri]] == [
        (3, "sparkContext"), (3, "parallelize")]
    assert (await status(client))["editor_settings"] == {
        "diagnostics": True, "answer_timeout_ms": None, "log_level": None}

    change_settings(client, {"diagnostics": {"enabled": False}})
    await wait_for(lambda: list(client.diagnostics[uri]) == [], timeout=30)


async def test_a_bad_setting_is_named_to_the_user_and_keeps_its_default(client, make_workspace):
    root = make_workspace(config='[project]\nname = "settings"\n')
    await start(client, root)
    change_settings(client, {"answerTimeoutMs": "soon", "logLevel": "chatty", "diagnostics": {"enabled": False}})
    await wait_for(lambda: len(client.messages) >= 2, timeout=30)
    shown = [m.message for m in client.messages if m.type == types.MessageType.Warning]
    assert any("expenv.answerTimeoutMs" in m and "'soon'" in m for m in shown), shown
    assert any("expenv.logLevel" in m and "'chatty'" in m for m in shown), shown
    # the good value in the same change still applies, and the daemon keeps serving
    assert (await status(client))["editor_settings"] == {
        "diagnostics": False, "answer_timeout_ms": None, "log_level": None}


async def test_a_change_notice_without_values_pulls_the_settings_and_resets_nothing(client, make_workspace):
    # LSP 3.17 pull model (Neovim's client, among others): `settings: null`, then workspace/configuration
    root = make_workspace(config='[project]\nname = "settings"\n')
    await start(client, root, options={"settings": {"answerTimeoutMs": 250, "logLevel": "info"}})
    client.set_configuration({"answerTimeoutMs": 300, "logLevel": "info"}, section="expenv")
    client.workspace_did_change_configuration(types.DidChangeConfigurationParams(settings=None))

    deadline = asyncio.get_running_loop().time() + 30   # the pull is a round trip after the notice
    while (await status(client))["editor_settings"]["answer_timeout_ms"] != 300 and \
            asyncio.get_running_loop().time() < deadline:
        await asyncio.sleep(0.1)
    assert (await status(client))["editor_settings"] == {
        "diagnostics": True, "answer_timeout_ms": 300, "log_level": "info"}
