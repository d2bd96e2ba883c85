"""The packaged extension and the daemon agree on the command names (the public contract)."""

from __future__ import annotations

import json
import zipfile

from tests.conftest import DAEMON_CMD, REPO
from tests.lsp.jsonrpc_client import RawLspClient

VSIX = REPO / "vscode-extension" / "expenv-0.1.0.vsix"


def vsix_manifest() -> dict:
    assert VSIX.is_file(), f"{VSIX} is missing: `make test` builds it with `npm run package`"
    with zipfile.ZipFile(VSIX) as z:
        return json.loads(z.read("extension/package.json"))


def daemon_commands(tmp_path) -> list[str]:
    client = RawLspClient(DAEMON_CMD)
    result = client.request("initialize", {"processId": None, "rootUri": tmp_path.as_uri(), "capabilities": {}})
    client.notify("initialized", {})
    assert client.finish() == 0
    return result["result"]["capabilities"]["executeCommandProvider"]["commands"]


def test_vsix_daemon_commands_match_the_daemons_commands(tmp_path):
    manifest = vsix_manifest()
    contributed = [c["command"] for c in manifest["contributes"]["commands"]]
    # expenv.client.* run in the extension itself; every other expenv.* command is the daemon's
    from_daemon = sorted(c for c in contributed if not c.startswith("expenv.client."))
    assert from_daemon == sorted(daemon_commands(tmp_path))


def test_vsix_runs_in_the_workspace_and_ships_only_the_bundle():
    manifest = vsix_manifest()
    assert manifest["extensionKind"] == ["workspace"]
    assert manifest["main"] == "./dist/extension.js"
    with zipfile.ZipFile(VSIX) as z:
        names = z.namelist()
    assert "extension/dist/extension.js" in names
    assert not [n for n in names if "/node_modules/" in n or n.startswith("extension/src/")]
