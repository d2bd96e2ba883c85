"""The workspace that owns a file is remembered per path (services/workspace.py
`WorkspaceSet.owning`: every hover and completion asks); a workspace folder added or removed
changes the owner, and so the config that answers, at once."""

from __future__ import annotations

from lsprotocol import types

from tests.lsp.session import open_python, position_of, start



def _hover(client, uri: str, pos: types.Position):
    return client.text_document_hover_async(types.HoverParams(
        text_document=types.TextDocumentIdentifier(uri=uri), position=pos))


async def test_a_workspace_folder_added_or_removed_changes_which_config_answers(client, make_workspace):
    """Which workspace owns a file is remembered per path; adding a nested folder (its own
    expenv.toml, its own raw data) or removing it changes the owner of the files inside it."""
    outer = make_workspace("outer", '[project]\nname = "outer"\n[data.raw]\nroots = ["data/raw"]\n')
    inner = make_workspace("outer/inner", '[project]\nname = "inner"\n[data.raw]\nroots = ["data/raw"]\n')
    for root, header in ((outer, "outer_a,outer_b"), (inner, "inner_x,inner_y")):
        (root / "data" / "raw").mkdir(parents=True)
        (root / "data" / "raw" / "t.csv").write_text(f"{header}\n1,2\n")
    await start(client, outer)
    source = 'df = pd.read_csv("data/raw/t.csv")\n'
    uri = open_python(client, inner / "explore.py", source)
    pos = position_of(source, "data/raw/t", 3)

    async def columns() -> str:
        return (await _hover(client, uri, pos)).contents.value

    assert "| outer_a |" in await columns()
    folder = types.WorkspaceFolder(uri=inner.as_uri(), name="inner")
    client.workspace_did_change_workspace_folders(types.DidChangeWorkspaceFoldersParams(
        event=types.WorkspaceFoldersChangeEvent(added=[folder], removed=[])))
    text = await columns()
    assert "| inner_x |" in text and "outer_a" not in text
    client.workspace_did_change_workspace_folders(types.DidChangeWorkspaceFoldersParams(
        event=types.WorkspaceFoldersChangeEvent(added=[], removed=[folder])))
    assert "| outer_a |" in await columns()
